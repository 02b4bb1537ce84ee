//! Profiles and checks of files and datasets, through the reader: only the columns a profile
//! or rule set needs are decoded, and `Scan::threads` bounds the kernels as well as decoding.

use super::{
    check_batches, profile_batches, CheckOptions, ProfileOptions, QualityReport, RuleSet,
    TableProfile,
};
use crate::read::Scan;
use crate::Result;

impl RuleSet {
    /// The columns the rules read, each once, in first-use order. Empty when every rule is
    /// table-level (a row count).
    pub fn columns(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for rule in &self.rules {
            for column in rule.kind.columns() {
                if !names.iter().any(|n| n == column) {
                    names.push(column.to_string());
                }
            }
        }
        names
    }
}

impl Scan {
    /// Profiles the rows this scan returns (its projection, filter and limit apply).
    ///
    /// ```no_run
    /// # fn main() -> strata::Result<()> {
    /// use strata::{quality::ProfileOptions, Scan};
    /// let profile = Scan::new("flights.parquet")
    ///     .columns(&["dep_delay"])
    ///     .profile(&ProfileOptions::default())?;
    /// println!("{:?}", profile.column("dep_delay").map(|c| c.mean()));
    /// # Ok(()) }
    /// ```
    pub fn profile(&self, options: &ProfileOptions) -> Result<TableProfile> {
        let out = self.run()?;
        self.in_pool(|| profile_batches(&out.batches, options))?
    }

    /// Checks the rows this scan returns against `rules`. Set the projection with
    /// [`RuleSet::columns`] to decode only what the rules read; the report's dataset quality
    /// score covers the columns read. A rule on a column the data does not have is an error,
    /// even when no rows match.
    pub fn check(&self, rules: &RuleSet, options: &CheckOptions) -> Result<QualityReport> {
        let out = self.run()?;
        rules.check_columns(&out.schema)?;
        self.in_pool(|| check_batches(&out.batches, rules, options))?
    }
}
