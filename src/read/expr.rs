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

/// What an update puts in a column: a literal, null, or another column's value (of the same
/// row, before the update).
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// A literal, cast to the column's type.
    Literal(Literal),
    /// Null (the column must be nullable).
    Null,
    /// The value of this column.
    Column(String),
}

/// One `column = value` of an update's `SET` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The column assigned.
    pub column: String,
    /// What it gets.
    pub value: SetValue,
}

impl Assignment {
    /// Parses `"fare = 0, zone = 'JFK', note = NULL, total = fare"` (the filter syntax's
    /// names and literals); errors name the token and its position.
    pub fn parse_list(text: &str) -> crate::Result<Vec<Assignment>> {
        super::parse::parse_assignments(text)
    }
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
///
/// `AND` and `OR` hold any number of terms, and the builders ([`Expr::and`], [`Expr::or`])
/// merge into an existing node instead of nesting, so `a AND b AND c ...` is one node however
/// many terms it has. Nesting (an `OR` inside an `AND` inside a `NOT` ...) is bounded: a scan
/// refuses an expression deeper than [`Expr::MAX_DEPTH`] and the parser refuses text that
/// would build one, so pruning and evaluation stay within a small stack. Clone, comparison,
/// formatting and drop use no recursion at all, so a tree built by hand far deeper than that
/// can still be held, printed and dropped safely.
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
    /// Every term holds (true when there are none).
    And(Vec<Expr>),
    /// At least one term holds (false when there are none).
    Or(Vec<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
}

impl Expr {
    /// The deepest nesting of `AND`, `OR` and `NOT` a filter may have (a comparison alone is
    /// depth 0, `NOT (a = 1 OR b = 2)` depth 2), and the deepest nesting of parentheses and
    /// `NOT`s the parser reads. Deeper filters are refused with an `InvalidArgument` error.
    ///
    /// cbindgen:ignore
    pub const MAX_DEPTH: usize = 256;

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

    /// `self AND other`. An `AND` on either side has its terms merged in, so a chain of
    /// `and` calls builds one flat node.
    pub fn and(self, other: Expr) -> Expr {
        join(self, other, true)
    }

    /// `self OR other`, merging like [`Expr::and`].
    pub fn or(self, other: Expr) -> Expr {
        join(self, other, false)
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// The nesting depth: the most `AND`, `OR` and `NOT` nodes on one path from the root to a
    /// comparison. Computed without recursion, whatever the depth.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut todo = vec![(self, 0usize)];
        while let Some((e, depth)) = todo.pop() {
            deepest = deepest.max(depth);
            todo.extend(e.terms().iter().map(|t| (t, depth + 1)));
        }
        deepest
    }

    /// Every column the predicate reads, in first-use order, without repeats.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut todo = vec![self];
        while let Some(e) = todo.pop() {
            match e.leaf_column() {
                Some(name) => {
                    if seen.insert(name) {
                        out.push(name);
                    }
                }
                None => todo.extend(e.terms().iter().rev()),
            }
        }
        out
    }

    /// The column a comparison reads; `None` for `AND`, `OR` and `NOT`.
    pub(crate) fn leaf_column(&self) -> Option<&str> {
        match self {
            Expr::Cmp { column, .. }
            | Expr::In { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::StartsWith { column, .. } => Some(column),
            Expr::And(_) | Expr::Or(_) | Expr::Not(_) => None,
        }
    }

    /// The sub-expressions of `AND`, `OR` and `NOT`; none for a comparison.
    pub(crate) fn terms(&self) -> &[Expr] {
        match self {
            Expr::And(terms) | Expr::Or(terms) => terms,
            Expr::Not(inner) => std::slice::from_ref(inner.as_ref()),
            _ => &[],
        }
    }
}

/// The error for a filter nested deeper than [`Expr::MAX_DEPTH`].
pub(crate) fn too_deep(depth: usize) -> crate::Error {
    crate::Error::invalid(format!(
        "filter: AND, OR and NOT nest {depth} levels deep; at most {} are allowed",
        Expr::MAX_DEPTH
    ))
}

/// `a AND b` (or `a OR b`), adding to `a`'s own terms when it is already that operator (in
/// place: a chain of n calls costs O(n), not O(n^2)) and taking `b`'s when it is.
fn join(mut a: Expr, b: Expr, and: bool) -> Expr {
    fn add(terms: &mut Vec<Expr>, mut b: Expr, and: bool) {
        match &mut b {
            Expr::And(more) if and => terms.append(more),
            Expr::Or(more) if !and => terms.append(more),
            _ => terms.push(b),
        }
    }
    match &mut a {
        Expr::And(terms) if and => {
            add(terms, b, and);
            a
        }
        Expr::Or(terms) if !and => {
            add(terms, b, and);
            a
        }
        _ => {
            let mut terms = vec![a];
            add(&mut terms, b, and);
            if and {
                Expr::And(terms)
            } else {
                Expr::Or(terms)
            }
        }
    }
}

impl Drop for Expr {
    /// Moves the sub-expressions onto a heap stack and drops them from there, so a deep tree
    /// (a hand-built chain of a million `NOT`s) does not recurse once per level.
    fn drop(&mut self) {
        fn detach(e: &mut Expr, out: &mut Vec<Expr>) {
            match e {
                Expr::And(terms) | Expr::Or(terms) => out.append(terms),
                Expr::Not(inner) => {
                    out.push(std::mem::replace(inner.as_mut(), Expr::And(Vec::new())))
                }
                _ => {}
            }
        }
        let mut todo = Vec::new();
        detach(self, &mut todo);
        while let Some(mut e) = todo.pop() {
            detach(&mut e, &mut todo);
        }
    }
}

impl Clone for Expr {
    /// Clones bottom-up on heap stacks rather than by recursion (see [`Drop`]).
    fn clone(&self) -> Expr {
        // `todo` holds nodes to visit, or (marked) to build from the clones of their terms,
        // which are the last ones on `done`.
        let mut todo = vec![(self, false)];
        let mut done: Vec<Expr> = Vec::new();
        while let Some((e, terms_done)) = todo.pop() {
            let terms = e.terms();
            if !terms_done && !terms.is_empty() {
                todo.push((e, true));
                todo.extend(terms.iter().rev().map(|t| (t, false)));
                continue;
            }
            let mut cloned = done.split_off(done.len().saturating_sub(terms.len()));
            done.push(match e {
                Expr::And(_) => Expr::And(cloned),
                Expr::Or(_) => Expr::Or(cloned),
                // A NOT has exactly one term, cloned just before.
                Expr::Not(_) => Expr::Not(Box::new(
                    cloned.pop().unwrap_or_else(|| Expr::And(Vec::new())),
                )),
                Expr::Cmp { column, op, value } => Expr::Cmp {
                    column: column.clone(),
                    op: *op,
                    value: value.clone(),
                },
                Expr::In {
                    column,
                    values,
                    negated,
                } => Expr::In {
                    column: column.clone(),
                    values: values.clone(),
                    negated: *negated,
                },
                Expr::IsNull { column, negated } => Expr::IsNull {
                    column: column.clone(),
                    negated: *negated,
                },
                Expr::StartsWith { column, prefix } => Expr::StartsWith {
                    column: column.clone(),
                    prefix: prefix.clone(),
                },
            });
        }
        done.pop().unwrap_or_else(|| Expr::And(Vec::new()))
    }
}

impl PartialEq for Expr {
    /// Structural equality, compared without recursion.
    fn eq(&self, other: &Expr) -> bool {
        let mut todo = vec![(self, other)];
        while let Some((a, b)) = todo.pop() {
            let same = match (a, b) {
                (
                    Expr::Cmp { column, op, value },
                    Expr::Cmp {
                        column: c,
                        op: o,
                        value: v,
                    },
                ) => column == c && op == o && value == v,
                (
                    Expr::In {
                        column,
                        values,
                        negated,
                    },
                    Expr::In {
                        column: c,
                        values: v,
                        negated: n,
                    },
                ) => column == c && values == v && negated == n,
                (
                    Expr::IsNull { column, negated },
                    Expr::IsNull {
                        column: c,
                        negated: n,
                    },
                ) => column == c && negated == n,
                (
                    Expr::StartsWith { column, prefix },
                    Expr::StartsWith {
                        column: c,
                        prefix: p,
                    },
                ) => column == c && prefix == p,
                (Expr::And(x), Expr::And(y)) | (Expr::Or(x), Expr::Or(y)) => x.len() == y.len(),
                (Expr::Not(_), Expr::Not(_)) => true,
                _ => false,
            };
            if !same {
                return false;
            }
            todo.extend(a.terms().iter().zip(b.terms()));
        }
        true
    }
}

/// Writes `expr` without recursion: for `AND`, `OR` and `NOT` an opening text, the terms
/// with a separator between them and a closing text; `leaf` writes the comparisons.
fn render(
    expr: &Expr,
    f: &mut fmt::Formatter<'_>,
    texts: fn(&Expr) -> (&'static str, &'static str, &'static str),
    leaf: fn(&Expr, &mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    enum Piece<'a> {
        Node(&'a Expr),
        Text(&'static str),
    }
    let mut todo = vec![Piece::Node(expr)];
    while let Some(piece) = todo.pop() {
        let e = match piece {
            Piece::Text(text) => {
                f.write_str(text)?;
                continue;
            }
            Piece::Node(e) => e,
        };
        if e.leaf_column().is_some() {
            leaf(e, f)?;
            continue;
        }
        let (open, separator, close) = texts(e);
        f.write_str(open)?;
        todo.push(Piece::Text(close));
        for (i, term) in e.terms().iter().enumerate().rev() {
            todo.push(Piece::Node(term));
            if i > 0 {
                todo.push(Piece::Text(separator));
            }
        }
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts = |e: &Expr| match e {
            Expr::And(terms) if terms.is_empty() => ("TRUE", "", ""),
            Expr::Or(terms) if terms.is_empty() => ("FALSE", "", ""),
            Expr::And(_) => ("(", " AND ", ")"),
            Expr::Or(_) => ("(", " OR ", ")"),
            _ => ("NOT ", "", ""),
        };
        render(self, f, texts, |e, f| match e {
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
            _ => Ok(()),
        })
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts = |e: &Expr| match e {
            Expr::And(_) => ("And([", ", ", "])"),
            Expr::Or(_) => ("Or([", ", ", "])"),
            _ => ("Not(", "", ")"),
        };
        render(self, f, texts, |e, f| match e {
            Expr::Cmp { column, op, value } => f
                .debug_struct("Cmp")
                .field("column", column)
                .field("op", op)
                .field("value", value)
                .finish(),
            Expr::In {
                column,
                values,
                negated,
            } => f
                .debug_struct("In")
                .field("column", column)
                .field("values", values)
                .field("negated", negated)
                .finish(),
            Expr::IsNull { column, negated } => f
                .debug_struct("IsNull")
                .field("column", column)
                .field("negated", negated)
                .finish(),
            Expr::StartsWith { column, prefix } => f
                .debug_struct("StartsWith")
                .field("column", column)
                .field("prefix", prefix)
                .finish(),
            _ => Ok(()),
        })
    }
}
