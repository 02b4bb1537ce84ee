//! Profiles and checks of files and datasets, through the reader: only the columns a profile
//! or rule set needs are decoded, and `Scan::threads` bounds the kernels as well as decoding.

use super::check::Checker;
use super::{profile_batches, CheckOptions, ProfileOptions, QualityReport, RuleSet, TableProfile};
use crate::read::Scan;
use crate::{Error, Result};

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
    ///
    /// The rows stream through the rules a batch at a time: only uniqueness, primary-key and
    /// distinct-ratio checks and the score's distinct rows keep state across batches (their
    /// key sets, sized from the file's footer). Keys beyond [`CheckOptions::key_memory`] are
    /// checked in several passes, each reading the data again. When the footer counts more
    /// rows than [`CheckOptions::exact_distinct_rows`] (or, with no one footer, once the rows
    /// do), the score's distinct rows are estimated, and its uniqueness says so.
    pub fn check(&self, rules: &RuleSet, options: &CheckOptions) -> Result<QualityReport> {
        // An upper bound of the rows (a filter or limit may keep fewer) sizes the key sets;
        // a directory has no one footer, and its sets grow as they fill.
        let expected = self
            .footer()
            .ok()
            .map(|f| f.metadata().file_metadata().num_rows().max(0) as u64);
        self.in_pool(|| {
            let mut checker = Checker::new(&rules.rules, options, expected, true)?;
            let mut first = true;
            while !checker.done() {
                let (schema, _) = self.for_each(|batch| {
                    if first {
                        // A rule on a column the data lacks names the rule, before any row.
                        rules.check_columns(&batch.schema())?;
                        first = false;
                    }
                    checker.push(&batch)
                })?;
                rules.check_columns(&schema)?;
                checker.end_pass();
            }
            let (rows, results, dataset) = checker.finish(options)?;
            let dataset =
                dataset.ok_or_else(|| Error::internal("the check kept no dataset score"))?;
            Ok(QualityReport::new(rows, dataset, results))
        })?
    }
}
