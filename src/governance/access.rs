//! Who may do what: the `[access]` rules evaluated for one principal, action and resource.
//!
//! Grants only add (see [`crate::config::AccessConfig`]): a principal may do what any grant of
//! any of its roles allows, `admin` including `write` including `read`. A grant's `columns`
//! narrow reads under that grant; where several grants cover a resource, the principal sees
//! the union of their columns (all of them if one grant lists none).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::{AccessConfig, AccessRules, Action, Grant};
use crate::error::{Error, ErrorKind, Result};

/// The principal the audit log names for a handle without one: the host process itself.
pub const HOST: &str = "host";

/// What a call touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A lake object (or, for lists, a prefix of them).
    Object(&'a str),
    /// A table of the lake, `zone/name`.
    Table(&'a str),
    /// The lake itself: keys, tier runs, reindex, the catalog, the audit log, policies.
    Lake,
}

impl std::fmt::Display for Resource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Object(k) => write!(f, "object {k}"),
            Resource::Table(t) => write!(f, "table {t}"),
            Resource::Lake => f.write_str("the lake"),
        }
    }
}

impl Resource<'_> {
    /// The resource as the audit log names it: `object:KEY`, `table:ZONE/NAME`, `lake`.
    pub fn audit_name(&self) -> String {
        self.audit_parts().concat()
    }

    /// [`Resource::audit_name`] in two parts, not joined (the audit log joins them).
    pub fn audit_parts(&self) -> [&str; 2] {
        match self {
            Resource::Object(k) => ["object:", k],
            Resource::Table(t) => ["table:", t],
            Resource::Lake => ["lake", ""],
        }
    }
}

/// Which columns a read may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// Every column.
    All,
    /// Only these.
    Only(BTreeSet<String>),
}

impl Columns {
    /// Whether `column` may be read.
    pub fn allows(&self, column: &str) -> bool {
        match self {
            Columns::All => true,
            Columns::Only(set) => set.contains(column),
        }
    }
}

/// The access rules in force: `[access]` with its policy file read.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    rules: AccessRules,
    default_principal: Option<String>,
}

impl AccessPolicy {
    /// The rules of `config`, with its policy file (relative paths under `root`) read and
    /// joined to the inline ones; every reference checked.
    pub fn load(config: &AccessConfig, root: &Path) -> Result<AccessPolicy> {
        let mut rules = config.rules.clone();
        if let Some(file) = &config.policy_file {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::io("cannot read the access policy file", &path, e))?;
            let from_file: AccessRules = toml::from_str(&text)
                .map_err(|e| crate::config::toml_error(&text, &e).with("path", path.display()))?;
            rules.join(from_file, &path.display().to_string())?;
            rules
                .validate()
                .map_err(|e| e.with("path", path.display()))?;
        }
        if let Some(p) = &config.default_principal {
            if !rules.principals.contains_key(p) {
                return Err(Error::config(format!(
                    "access.default_principal {p:?} is not a principal of the policy"
                )));
            }
        }
        Ok(AccessPolicy {
            rules,
            default_principal: config.default_principal.clone(),
        })
    }

    /// The principal a handle opened without one acts as, if the config names one.
    pub fn default_principal(&self) -> Option<&str> {
        self.default_principal.as_deref()
    }

    /// The roles of `principal`, in the order the policy lists them.
    pub fn roles_of(&self, principal: &str) -> Option<&[String]> {
        self.rules.principals.get(principal).map(Vec::as_slice)
    }

    /// Every role with its grants and purposes.
    pub fn roles(&self) -> &BTreeMap<String, crate::config::Role> {
        &self.rules.roles
    }

    /// Every principal with its roles.
    pub fn principals(&self) -> &BTreeMap<String, Vec<String>> {
        &self.rules.principals
    }

    /// Whether `principal` may do `action` on `resource`; the columns a read may see. A
    /// denial is a [`ErrorKind::PermissionDenied`] error naming all three.
    pub fn check(
        &self,
        principal: &str,
        action: Action,
        resource: Resource<'_>,
    ) -> Result<Columns> {
        let Some(roles) = self.roles_of(principal) else {
            return Err(denied(
                principal,
                action,
                resource,
                "it is not a principal of the policy",
            ));
        };
        let mut columns: Option<Columns> = None;
        for role in roles {
            columns = union(columns, self.role_allows(role, action, resource));
        }
        columns.ok_or_else(|| {
            denied(
                principal,
                action,
                resource,
                "no grant of its roles allows it",
            )
        })
    }
}

impl AccessPolicy {
    /// What role `role` alone may see when doing `action` on `resource`; `None`: nothing.
    pub fn role_allows(
        &self,
        role: &str,
        action: Action,
        resource: Resource<'_>,
    ) -> Option<Columns> {
        let role = self.rules.roles.get(role)?;
        let mut columns = None;
        for grant in &role.grants {
            if grant.actions.iter().any(|a| *a >= action) && covers(grant, resource) {
                columns = union(
                    columns,
                    Some(if grant.columns.is_empty() {
                        Columns::All
                    } else {
                        Columns::Only(grant.columns.iter().cloned().collect())
                    }),
                );
            }
        }
        columns
    }
}

/// What two grants together let a principal see.
fn union(a: Option<Columns>, b: Option<Columns>) -> Option<Columns> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(Columns::All), _) | (_, Some(Columns::All)) => Some(Columns::All),
        (Some(Columns::Only(mut x)), Some(Columns::Only(y))) => {
            x.extend(y);
            Some(Columns::Only(x))
        }
    }
}

/// A denial naming the principal, the action and the resource.
pub fn denied(principal: &str, action: Action, resource: Resource<'_>, why: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!("{principal} may not {action} {resource}: {why}"),
    )
    .with("principal", principal)
    .with("action", action)
    .with("resource", resource.audit_name())
}

fn covers(grant: &Grant, resource: Resource<'_>) -> bool {
    match resource {
        Resource::Lake => grant.lake,
        Resource::Object(key) => grant.prefixes.iter().any(|p| key.starts_with(p.as_str())),
        Resource::Table(name) => {
            let zone = name.split_once('/').map_or(name, |(z, _)| z);
            grant.zones.iter().any(|z| z == "*" || z == zone)
                || grant.tables.iter().any(|t| match t.strip_suffix('*') {
                    Some(start) => name.starts_with(start),
                    None => t == name,
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> AccessPolicy {
        let config = crate::LakeConfig::from_toml_str(text).unwrap();
        AccessPolicy::load(config.access.as_ref().unwrap(), Path::new("/nonexistent")).unwrap()
    }

    const RULES: &str = r#"
        [access.roles.analyst]
        grants = [
          { actions = ["read"], zones = ["silver"] },
          { actions = ["read"], tables = ["bronze/trips"], columns = ["trip_id"] },
          { actions = ["read"], tables = ["bronze/tr*"], columns = ["fare"] },
          { actions = ["write"], prefixes = ["scratch/"] },
        ]
        [access.roles.ops]
        grants = [{ actions = ["admin"], lake = true }]
        [access.principals]
        alice = ["analyst"]
        olga = ["analyst", "ops"]
    "#;

    #[test]
    fn grants_add_up_and_everything_else_is_denied() {
        let p = policy(RULES);
        assert_eq!(
            p.check("alice", Action::Read, Resource::Table("silver/trips"))
                .unwrap(),
            Columns::All
        );
        // Two grants with columns: their union.
        let Columns::Only(cols) = p
            .check("alice", Action::Read, Resource::Table("bronze/trips"))
            .unwrap()
        else {
            panic!("expected a column restriction")
        };
        assert_eq!(cols.into_iter().collect::<Vec<_>>(), ["fare", "trip_id"]);
        // write includes read; read does not include write.
        assert!(p
            .check("alice", Action::Read, Resource::Object("scratch/x"))
            .is_ok());
        for (action, resource) in [
            (Action::Write, Resource::Table("silver/trips")),
            (Action::Read, Resource::Table("gold/kpis")),
            (Action::Read, Resource::Object("raw/x")),
            (Action::Admin, Resource::Lake),
            (Action::Read, Resource::Lake),
        ] {
            let err = p.check("alice", action, resource).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            assert!(err.to_string().contains("alice may not"), "{err}");
        }
        assert!(p.check("olga", Action::Admin, Resource::Lake).is_ok());
        let err = p
            .check("mallory", Action::Read, Resource::Table("silver/trips"))
            .unwrap_err();
        assert!(err.to_string().contains("not a principal"), "{err}");
    }
}
