//! Compliance reports computed from the live lake, not from declarations: the catalog's
//! classifications, the tables' encryption, the access rules and masking views, the audit
//! log and its verification, the keys' age, erasures and denials.

use std::collections::BTreeMap;

use super::Lake;
use crate::catalog::{Entry, Kind};
use crate::config::{Action, TierKind};
use crate::error::{ErrorKind, Result};
use crate::governance::access::Resource;
use crate::governance::{ComplianceReport, Control, Framework, Status};
use crate::mask::ColumnAccess;

/// Six years, HIPAA's retention of audit records (45 CFR 164.316(b)(2)).
const SIX_YEARS_DAYS: u64 = 6 * 365;

/// The personal-data columns of each table: `(table, columns)`.
fn personal(entries: &[std::sync::Arc<Entry>]) -> Vec<(&Entry, Vec<&str>)> {
    entries
        .iter()
        .filter(|e| e.kind == Kind::Table)
        .filter_map(|e| {
            let cols: Vec<&str> = e
                .columns
                .iter()
                .filter(|c| c.classification.as_ref().is_some_and(|m| m.class != "none"))
                .map(|c| c.name.as_str())
                .collect();
            (!cols.is_empty()).then_some((e.as_ref(), cols))
        })
        .collect()
}

fn control(id: &str, title: &str, status: Status, evidence: Vec<String>) -> Control {
    Control {
        id: id.into(),
        title: title.into(),
        status,
        evidence,
    }
}

fn pass_or(fail: Status, evidence: &[String]) -> Status {
    if evidence.is_empty() {
        Status::Pass
    } else {
        fail
    }
}

impl Lake {
    /// The report of `framework`'s controls (`strata compliance`), each PASS, FAIL or WARN
    /// with its evidence, and a score. Needs `admin` on the lake for a principal's handle.
    pub fn compliance(&self, framework: Framework) -> Result<ComplianceReport> {
        self.authorize("compliance", Action::Admin, Resource::Lake)?;
        let p = match framework {
            Framework::Gdpr => "gdpr",
            Framework::Hipaa => "hipaa",
        };
        let entries = self.open_catalog()?.entries()?;
        let personal = personal(&entries);
        let mut controls = Vec::new();

        // Personal data stored unencrypted.
        let clear: Vec<String> = personal
            .iter()
            .filter(|(e, _)| !e.properties.contains_key("strata.encryption"))
            .map(|(e, cols)| format!("{}: {} (table not encrypted)", e.name, cols.join(", ")))
            .collect();
        let tables = entries.iter().filter(|e| e.kind == Kind::Table).count();
        let classified = entries
            .iter()
            .filter(|e| e.kind == Kind::Table)
            .any(|e| e.columns.iter().any(|c| c.classification.is_some()));
        let (status, evidence) = if tables > 0 && !classified {
            (
                Status::Warn,
                vec![format!(
                    "none of the {tables} tables is classified yet (strata catalog classify)"
                )],
            )
        } else {
            (pass_or(Status::Fail, &clear), clear)
        };
        controls.push(control(
            &format!("{p}.personal_data_encrypted"),
            "Personal-data columns (catalog classification) are stored encrypted at rest",
            status,
            evidence,
        ));

        // Who reads personal data in clear, and why.
        let (readers, unmasked) = self.clear_readers(&personal);
        let needed = match framework {
            Framework::Gdpr => None,
            Framework::Hipaa => Some("treatment"),
        };
        let mut without: Vec<String> = Vec::new();
        for (role, tables) in &readers {
            let purposes = self
                .gov
                .policy
                .as_ref()
                .and_then(|p| p.roles().get(role))
                .map(|r| r.purposes.clone())
                .unwrap_or_default();
            let ok = match needed {
                None => !purposes.is_empty(),
                Some(purpose) => purposes.iter().any(|p| p == purpose),
            };
            if !ok {
                without.push(format!("role {role} reads in clear: {}", tables.join(", ")));
            }
        }
        without.extend(unmasked);
        let (id, title) = match framework {
            Framework::Gdpr => (
                "gdpr.clear_access_has_purpose",
                "Roles that read personal data in clear have a stated purpose",
            ),
            Framework::Hipaa => (
                "hipaa.phi_masked_for_non_treatment",
                "PHI is masked for every role without the treatment purpose",
            ),
        };
        controls.push(control(id, title, pass_or(Status::Fail, &without), without));

        // Retention on tables with personal data.
        let rules = &self.config().table_retention;
        let unkept: Vec<String> = personal
            .iter()
            .filter(|(e, cols)| {
                let zone = e.name.split_once('/').map_or("", |(z, _)| z);
                e.retention.is_none()
                    && !rules.iter().any(|r| {
                        r.zone.as_deref().is_some_and(|z| z == "*" || z == zone)
                            || r.table.as_deref() == Some(e.name.as_str())
                            || r.classification.as_deref().is_some_and(|c| {
                                e.columns.iter().any(|col| {
                                    cols.contains(&col.name.as_str())
                                        && col.classification.as_ref().is_some_and(|m| m.class == c)
                                })
                            })
                    })
            })
            .map(|(e, _)| format!("{} has personal data and no retention rule", e.name))
            .collect();
        controls.push(control(
            &format!("{p}.personal_data_retention"),
            "Tables with personal data have a retention rule",
            pass_or(Status::Fail, &unkept),
            unkept,
        ));

        // The audit log: on, and verifying.
        controls.push(self.audit_control(p));
        if framework == Framework::Hipaa {
            let audit = &self.config().audit;
            let keep_days = audit.keep.map(|d| d.as_secs() / 86_400);
            let evidence = vec![match keep_days {
                Some(d) => format!("[audit] keep = {d} days (needs {SIX_YEARS_DAYS})"),
                None => "[audit] keep is not set".to_string(),
            }];
            controls.push(control(
                "hipaa.audit_retention_6y",
                "Audit records are kept at least six years",
                if keep_days.is_some_and(|d| d >= SIX_YEARS_DAYS) {
                    Status::Pass
                } else {
                    Status::Fail
                },
                evidence,
            ));
            let logged = audit.enabled && audit.reads;
            controls.push(control(
                "hipaa.phi_reads_logged",
                "Every read of PHI is logged",
                if logged { Status::Pass } else { Status::Fail },
                vec![format!(
                    "[audit] enabled = {}, reads = {}",
                    audit.enabled, audit.reads
                )],
            ));
        }

        // Encryption of the colder and remote tiers.
        let config = self.config();
        let hottest = config.tiers.first().map(|t| t.name.clone());
        let open_tiers: Vec<String> = config
            .tiers
            .iter()
            .filter(|t| Some(&t.name) != hottest.as_ref() || matches!(t.kind, TierKind::S3(_)))
            .filter(|t| !config.encryption.tiers.contains(&t.name))
            .map(|t| format!("tier {} is not in [encryption] tiers", t.name))
            .collect();
        controls.push(control(
            &format!("{p}.cold_tiers_encrypted"),
            "Objects on cold and S3 tiers are encrypted at rest",
            pass_or(Status::Warn, &open_tiers),
            open_tiers,
        ));

        controls.push(self.key_age_control(p)?);

        // Erasure requests and denials, from the audit log.
        let (erasures, failed_erasures, denials) = self.audit_counts()?;
        controls.push(control(
            &format!("{p}.erasures_completed"),
            "Erasure requests completed",
            if failed_erasures.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            std::iter::once(format!("{erasures} erasures recorded"))
                .chain(failed_erasures)
                .collect(),
        ));
        let denial_lines: Vec<String> = denials
            .iter()
            .map(|(principal, n)| {
                format!(
                    "{principal}: {n} denied call{}",
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect();
        controls.push(control(
            &format!("{p}.access_denials"),
            "Access denials reviewed (every denial is listed)",
            if denials.is_empty() {
                Status::Pass
            } else {
                Status::Warn
            },
            denial_lines,
        ));
        Ok(ComplianceReport::new(framework, controls))
    }

    /// Roles that may read tables with personal data and see some of it in clear (role ->
    /// tables); and, without a masking policy, a line saying every reader sees it in clear.
    fn clear_readers(
        &self,
        personal: &[(&Entry, Vec<&str>)],
    ) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
        let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut notes = Vec::new();
        let Some(policy) = &self.gov.policy else {
            if !personal.is_empty() {
                notes.push(
                    "no [access] policy: every handle reads personal data in clear".to_string(),
                );
            }
            return (readers, notes);
        };
        for role in policy.roles().keys() {
            for (entry, cols) in personal {
                let Some(columns) =
                    policy.role_allows(role, Action::Read, Resource::Table(&entry.name))
                else {
                    continue;
                };
                let clear: Vec<&str> = cols
                    .iter()
                    .copied()
                    .filter(|c| columns.allows(c))
                    .filter(|c| {
                        self.gov
                            .masking
                            .as_ref()
                            .is_none_or(|m| m.access(c, role) == ColumnAccess::Clear)
                    })
                    .collect();
                if !clear.is_empty() {
                    readers.entry(role.clone()).or_default().push(format!(
                        "{}.{}",
                        entry.name,
                        clear.join(",")
                    ));
                }
            }
        }
        (readers, notes)
    }

    fn audit_control(&self, p: &str) -> Control {
        let id = format!("{p}.audit_on_and_verifying");
        let title = "The audit log is on and verifies (no record or segment changed or missing)";
        if self.gov.audit_dir.is_none() {
            return control(
                &id,
                title,
                Status::Fail,
                vec!["[audit] enabled is false".into()],
            );
        }
        match self.audit_verify_unchecked() {
            Ok(report) if report.intact() => control(
                &id,
                title,
                Status::Pass,
                vec![format!(
                    "{} records in {} segments verify",
                    report.records, report.segments
                )],
            ),
            Ok(report) => control(&id, title, Status::Fail, report.problems),
            Err(e) => control(&id, title, Status::Fail, vec![e.to_string()]),
        }
    }

    fn key_age_control(&self, p: &str) -> Result<Control> {
        let id = format!("{p}.key_rotation");
        let title = "The active key-encryption key is younger than the rotation period";
        let period = self.config().compliance.key_rotation;
        let rows = match self.keys().list() {
            Ok(rows) => rows,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(control(
                    &id,
                    title,
                    Status::Warn,
                    vec!["the lake has no key ring".into()],
                ))
            }
            Err(e) => return Err(e),
        };
        let now = crate::clock::now_ms();
        let mut evidence = Vec::new();
        let mut status = Status::Pass;
        for k in rows.iter().filter(|k| k.active) {
            let age_days = now.saturating_sub(k.created_ms) / 86_400_000;
            evidence.push(format!(
                "key {}: {age_days} days old (rotate every {} days)",
                k.id,
                period.as_secs() / 86_400
            ));
            if age_days * 86_400 > period.as_secs() {
                status = Status::Fail;
            }
        }
        Ok(control(&id, title, status, evidence))
    }

    /// Erasures recorded, failed erasures, and denials per principal.
    fn audit_counts(&self) -> Result<(u64, Vec<String>, BTreeMap<String, u64>)> {
        let (mut erasures, mut failed, mut denials) = (0, Vec::new(), BTreeMap::new());
        let Some(dir) = &self.gov.audit_dir else {
            return Ok((erasures, failed, denials));
        };
        crate::governance::audit::read_records(dir, &mut |r| {
            if r.event.action == "erase" {
                erasures += 1;
                if r.event.outcome != "ok" {
                    failed.push(format!(
                        "erasure record {} ended {}",
                        r.seq, r.event.outcome
                    ));
                }
            }
            if r.event.outcome == "denied" {
                *denials.entry(r.event.principal.clone()).or_insert(0) += 1;
            }
        })?;
        Ok((erasures, failed, denials))
    }
}
