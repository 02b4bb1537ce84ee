//! Scan predicates as a Rust value: what a `--filter` string parses into.

use std::fmt;

/// A literal on the right-hand side of a comparison. It is cast to the column's type when the
/// scan runs, so `'2024-01-01'` compares against a date column and `60` against an `Int16`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A literal with a fraction or exponent.
    Float(f64),
    /// A quoted string.
    Str(String),
}

impl From<bool> for Literal {
    fn from(v: bool) -> Self {
        Literal::Bool(v)
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<i32> for Literal {
    fn from(v: i32) -> Self {
        Literal::Int(i64::from(v))
    }
}
impl From<f64> for Literal {
    fn from(v: f64) -> Self {
        Literal::Float(v)
    }
}
impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::Str(v.to_string())
    }
}
impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::Str(v)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(v) => write!(f, "{}", if *v { "TRUE" } else { "FALSE" }),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => write!(f, "{v:?}"),
            Literal::Str(v) => write!(f, "'{}'", v.replace('\'', "''")),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CmpOp {
    /// The operator that holds exactly when `self` does not, for non-null values. Under SQL's
    /// three-valued logic `NOT (a < 1)` is `a >= 1` (both null when `a` is), which is what lets
    /// pruning see through `NOT`.
    pub fn negate(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::NotEq,
            CmpOp::NotEq => CmpOp::Eq,
            CmpOp::Lt => CmpOp::GtEq,
            CmpOp::LtEq => CmpOp::Gt,
            CmpOp::Gt => CmpOp::LtEq,
            CmpOp::GtEq => CmpOp::Lt,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "!=",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// A row predicate. Evaluation follows SQL: a comparison with a null value is null, and rows
/// where the whole predicate is null or false are dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `column op value`
    Cmp {
        /// Top-level column name.
        column: String,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: Literal,
    },
    /// `column IN (values)`, or `NOT IN` when `negated`.
    In {
        /// Top-level column name.
        column: String,
        /// The candidates.
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `column IS NULL`, or `IS NOT NULL` when `negated`.
    IsNull {
        /// Top-level column name.
        column: String,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `starts_with(column, 'prefix')`, also written `column LIKE 'prefix%'`.
    StartsWith {
        /// Top-level column name of a string column.
        column: String,
        /// The prefix.
        prefix: String,
    },
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
}

impl Expr {
    /// Parses the text syntax, e.g. `dep_delay > 60 AND origin IN ('JFK','LGA')`.
    pub fn parse(text: &str) -> crate::Result<Expr> {
        super::parse::parse(text)
    }

    /// `column op value`.
    pub fn cmp(column: impl Into<String>, op: CmpOp, value: impl Into<Literal>) -> Expr {
        Expr::Cmp {
            column: column.into(),
            op,
            value: value.into(),
        }
    }

    /// `column IN (values)`.
    pub fn is_in<L: Into<Literal>>(
        column: impl Into<String>,
        values: impl IntoIterator<Item = L>,
    ) -> Expr {
        Expr::In {
            column: column.into(),
            values: values.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }

    /// `column IS NULL`.
    pub fn is_null(column: impl Into<String>) -> Expr {
        Expr::IsNull {
            column: column.into(),
            negated: false,
        }
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(column: impl Into<String>) -> Expr {
        Expr::IsNull {
            column: column.into(),
            negated: true,
        }
    }

    /// `starts_with(column, prefix)`.
    pub fn starts_with(column: impl Into<String>, prefix: impl Into<String>) -> Expr {
        Expr::StartsWith {
            column: column.into(),
            prefix: prefix.into(),
        }
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        Expr::And(Box::new(self), Box::new(other))
    }

    /// `self OR other`.
    pub fn or(self, other: Expr) -> Expr {
        Expr::Or(Box::new(self), Box::new(other))
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// Every column the predicate reads, in first-use order, without repeats.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        let name = match self {
            Expr::Cmp { column, .. }
            | Expr::In { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::StartsWith { column, .. } => column.as_str(),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
                return;
            }
            Expr::Not(a) => return a.collect_columns(out),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { column, op, value } => write!(f, "{column} {} {value}", op.symbol()),
            Expr::In {
                column,
                values,
                negated,
            } => {
                write!(f, "{column} {}IN (", if *negated { "NOT " } else { "" })?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::IsNull { column, negated } => {
                write!(f, "{column} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::StartsWith { column, prefix } => {
                write!(f, "starts_with({column}, {})", Literal::Str(prefix.clone()))
            }
            Expr::And(a, b) => write!(f, "({a} AND {b})"),
            Expr::Or(a, b) => write!(f, "({a} OR {b})"),
            Expr::Not(a) => write!(f, "NOT {a}"),
        }
    }
}
