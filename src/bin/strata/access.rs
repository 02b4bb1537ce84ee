//! `strata access ...`: what the `[access]` rules allow: one check, or every role and principal.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use strata::config::{Action, Grant};
use strata::governance::{Columns, Resource};
use strata::{Lake, LakeConfig};

use crate::util::{io, write_json};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Whether PRINCIPAL may do ACTION on RESOURCE: prints `allowed` (with the columns it
    /// may see when its grants restrict them) or `denied: <reason>`. Exit code 0 when allowed,
    /// 1 when denied (or on an error).
    Check(CheckArgs),
    /// Every role with its grants and purposes, and every principal with its roles.
    Roles(RolesArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The principal (a name under [access.principals]).
    principal: String,
    /// read, write or admin.
    #[arg(value_parser = parse_action)]
    action: Action,
    /// object:KEY, table:ZONE/NAME or lake.
    resource: String,
    /// As JSON: principal, action, resource, allowed, columns, reason.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RolesArgs {
    /// As JSON: enabled, roles (grants, purposes), principals (roles), default_principal.
    #[arg(long)]
    json: bool,
}

fn parse_action(text: &str) -> Result<Action, String> {
    Action::parse(text).map_err(|e| e.message().to_string())
}

/// `object:KEY`, `table:ZONE/NAME` or `lake`.
fn parse_resource(text: &str) -> strata::Result<Resource<'_>> {
    let bad = |why: &str| {
        strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            format!("resource {text:?}: {why}; expected object:KEY, table:ZONE/NAME or lake"),
        )
    };
    if text == "lake" {
        return Ok(Resource::Lake);
    }
    if let Some(key) = text.strip_prefix("object:") {
        return Ok(Resource::Object(key));
    }
    if let Some(table) = text.strip_prefix("table:") {
        return match table.split_once('/') {
            Some((zone, name)) if !zone.is_empty() && !name.is_empty() => {
                Ok(Resource::Table(table))
            }
            _ => Err(bad("a table is ZONE/NAME")),
        };
    }
    Err(bad("unknown kind"))
}

pub fn run(
    config: &LakeConfig,
    command: AccessCommand,
    out: &mut dyn Write,
) -> strata::Result<ExitCode> {
    let lake = Lake::open(config)?;
    match command {
        AccessCommand::Check(args) => check(&lake, args, out),
        AccessCommand::Roles(args) => roles(&lake, args.json, out).map(|()| ExitCode::SUCCESS),
    }
}

fn check(lake: &Lake, args: CheckArgs, out: &mut dyn Write) -> strata::Result<ExitCode> {
    let resource = parse_resource(&args.resource)?;
    let (columns, reason) = match lake.access_check(&args.principal, args.action, resource) {
        Ok(columns) => (Some(columns), None),
        Err(e) if e.kind() == strata::ErrorKind::PermissionDenied => {
            (None, Some(e.message().to_string()))
        }
        Err(e) => return Err(e),
    };
    let only = match &columns {
        Some(Columns::Only(set)) => Some(set.iter().cloned().collect::<Vec<_>>()),
        _ => None,
    };
    if args.json {
        write_json(
            out,
            &serde_json::json!({
                "principal": args.principal,
                "action": args.action,
                "resource": resource.audit_name(),
                "allowed": columns.is_some(),
                // null: every column (or denied); else the only columns it may read.
                "columns": only,
                "reason": reason,
            }),
        )?;
    } else {
        match (&columns, &only, &reason) {
            (Some(_), Some(only), _) => {
                writeln!(out, "allowed (only columns {})", only.join(", ")).map_err(io)?
            }
            (Some(_), None, _) => writeln!(out, "allowed").map_err(io)?,
            (None, _, reason) => {
                writeln!(out, "denied: {}", reason.as_deref().unwrap_or("")).map_err(io)?
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(if columns.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn roles(lake: &Lake, json: bool, out: &mut dyn Write) -> strata::Result<()> {
    let Some(policy) = lake.access_policy() else {
        if json {
            return write_json(
                out,
                &serde_json::json!({
                    "enabled": false,
                    "roles": {},
                    "principals": {},
                    "default_principal": null,
                }),
            );
        }
        return writeln!(
            out,
            "access control is off (the config has no [access] section): every call is allowed"
        )
        .map_err(io);
    };
    if json {
        return write_json(
            out,
            &serde_json::json!({
                "enabled": true,
                "roles": policy.roles(),
                "principals": policy.principals(),
                "default_principal": policy.default_principal(),
            }),
        );
    }
    writeln!(out, "roles:").map_err(io)?;
    for (name, role) in policy.roles() {
        writeln!(out, "  {name}").map_err(io)?;
        if !role.purposes.is_empty() {
            writeln!(out, "    purposes: {}", role.purposes.join(", ")).map_err(io)?;
        }
        for g in &role.grants {
            writeln!(out, "    grant: {}", grant(g)).map_err(io)?;
        }
    }
    writeln!(out, "principals:").map_err(io)?;
    for (name, roles) in policy.principals() {
        let default = if policy.default_principal() == Some(name.as_str()) {
            " (default)"
        } else {
            ""
        };
        writeln!(out, "  {name}{default}: {}", roles.join(", ")).map_err(io)?;
    }
    Ok(())
}

/// A grant in words: `read on zones silver, prefixes "public/" (columns a, b)`.
fn grant(g: &Grant) -> String {
    let actions: Vec<&str> = g.actions.iter().map(|a| a.name()).collect();
    let quoted = |v: &[String]| {
        v.iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut on = Vec::new();
    if g.lake {
        on.push("the lake".to_string());
    }
    if !g.zones.is_empty() {
        on.push(format!("zones {}", g.zones.join(" ")));
    }
    if !g.tables.is_empty() {
        on.push(format!("tables {}", g.tables.join(" ")));
    }
    if !g.prefixes.is_empty() {
        on.push(format!("prefixes {}", quoted(&g.prefixes)));
    }
    let mut text = format!("{} on {}", actions.join(", "), on.join(", "));
    if !g.columns.is_empty() {
        text.push_str(&format!(" (only columns {})", g.columns.join(", ")));
    }
    text
}
