//! The filter syntax: what it accepts, and errors that name the bad token and its position.

use strata::{read::CmpOp, ErrorKind, Expr};

#[test]
fn parses_the_issue_example() {
    let e = Expr::parse("dep_delay > 60 AND origin IN ('JFK','LGA')").unwrap();
    assert_eq!(
        e,
        Expr::cmp("dep_delay", CmpOp::Gt, 60).and(Expr::is_in("origin", ["JFK", "LGA"]))
    );
    let e = Expr::parse("not (a is not null or \"odd name\" <= 'x')").unwrap();
    assert_eq!(
        e,
        Expr::is_not_null("a")
            .or(Expr::cmp("odd name", CmpOp::LtEq, "x"))
            .not()
    );
}

fn err(text: &str) -> String {
    let e = Expr::parse(text).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    e.to_string()
}

#[test]
fn errors_point_at_the_token() {
    let m = err("dep_delay > AND x = 1");
    assert!(m.contains("'AND'") && m.contains("position 13"), "{m}");
    let m = err("a = 1 b = 2");
    assert!(m.contains("'b'") && m.contains("position 7"), "{m}");
    let m = err("a IN (1, 2");
    assert!(
        m.contains("end of input") && m.contains("position 11"),
        "{m}"
    );
    let m = err("a = 'open");
    assert!(m.contains("'open") && m.contains("position 5"), "{m}");
    let m = err("a # 1");
    assert!(m.contains("'#'") && m.contains("position 3"), "{m}");
    let m = err("a = NULL");
    assert!(m.contains("IS NULL") && m.contains("position 5"), "{m}");
    let m = err("name LIKE 'a%b'");
    assert!(m.contains("'a%b'") && m.contains("position 11"), "{m}");
    let m = err("");
    assert!(m.contains("end of input"), "{m}");
}
