//! Which projected columns of a run of row groups strata decodes itself (see
//! `super::flat_column`), and how their arrays join the parquet crate's batches of the others.
//!
//! Only for whole row groups of a mapped, unencrypted file with no row filter or page
//! selection: the crate's reader then produces every row, and strata's columns produce the
//! same number of rows for each of its batches. Columns strata decodes are taken out of the
//! crate's projection; when none are left, batches of the scan's batch size come from strata's
//! columns alone.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{FieldRef, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::arrow::ProjectionMask;

use super::flat_column::{self, encodings_fit, Chunks, FlatColumn, Kind};
use crate::error::{Error, Result};

/// strata's own columns of a reader, and where they go in its batches.
pub(crate) struct FlatColumns {
    /// For each output column in order: strata's column `Some(i)`, or `None` for the crate's
    /// next column.
    layout: Vec<Option<usize>>,
    columns: Vec<Box<dyn FlatColumn>>,
    fields: Vec<FieldRef>,
    /// Rows not yet produced, for batches made without the crate's reader.
    rows_left: usize,
    schema: Option<SchemaRef>,
}

/// The projected columns of `mask` in `row_groups` that strata decodes itself, and the mask
/// of the rest for the parquet crate; `None` when there are none.
pub(crate) fn plan(
    metadata: &ArrowReaderMetadata,
    bytes: &Bytes,
    row_groups: &[usize],
    mask: &ProjectionMask,
) -> Option<(FlatColumns, ProjectionMask)> {
    let parquet = metadata.metadata();
    let descr = parquet.file_metadata().schema_descr();
    let fields = metadata.schema().fields();
    let mut layout = Vec::new();
    let mut columns = Vec::new();
    let mut own_fields = Vec::new();
    let mut rest = Vec::new();
    let mut last_root = None;
    for leaf in (0..descr.num_columns()).filter(|&l| mask.leaf_included(l)) {
        let root = descr.get_column_root_idx(leaf);
        let own = own_kind(metadata, row_groups, leaf, root);
        match own {
            Some(kind) => {
                let column = descr.column(leaf);
                let chunks = Chunks {
                    bytes: bytes.clone(),
                    metadata: parquet.clone(),
                    leaf,
                    row_groups: row_groups.to_vec(),
                    nullable: column.max_def_level() == 1,
                };
                layout.push(Some(columns.len()));
                columns.push(flat_column::column(kind, chunks));
                own_fields.push(fields.get(root)?.clone());
            }
            None => {
                rest.push(leaf);
                if last_root != Some(root) {
                    layout.push(None);
                }
            }
        }
        last_root = Some(root);
    }
    if columns.is_empty() {
        return None;
    }
    let rows = row_groups
        .iter()
        .map(|&rg| usize::try_from(parquet.row_group(rg).num_rows()).unwrap_or(0))
        .sum();
    let flat = FlatColumns {
        layout,
        columns,
        fields: own_fields,
        rows_left: rows,
        schema: None,
    };
    Some((flat, ProjectionMask::leaves(descr, rest)))
}

/// The kind of leaf `leaf` (of top-level column `root`) when strata decodes it in every chunk
/// of `row_groups`: a flat column of a type [`Kind`] covers, dictionary-encoded, unencrypted.
fn own_kind(
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    leaf: usize,
    root: usize,
) -> Option<Kind> {
    let parquet = metadata.metadata();
    let column = parquet.file_metadata().schema_descr().column(leaf);
    if column.max_rep_level() != 0 || column.max_def_level() > 1 || column.path().parts().len() != 1
    {
        return None;
    }
    let field = metadata.schema().fields().get(root)?;
    if field.name() != column.name() {
        return None;
    }
    let kind = Kind::of(column.physical_type(), field.data_type())?;
    let fits = row_groups.iter().all(|&rg| {
        parquet.row_groups().get(rg).is_some_and(|group| {
            group.columns().get(leaf).is_some_and(|chunk| {
                chunk.crypto_metadata().is_none() && encodings_fit(chunk.encodings())
            })
        })
    });
    fits.then_some(kind)
}

impl FlatColumns {
    /// The batch of `rows` rows: the crate's columns of `theirs` (when the crate reads any)
    /// and strata's, in output order.
    pub(crate) fn join(&mut self, theirs: Option<RecordBatch>, rows: usize) -> Result<RecordBatch> {
        let own: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| c.next(rows))
            .collect::<Result<_>>()?;
        self.rows_left = self.rows_left.saturating_sub(rows);
        let mut their_columns = theirs.iter().flat_map(|b| b.columns().iter().cloned());
        let mut their_fields = theirs.iter().flat_map(|b| b.schema().fields().to_vec());
        let mut columns = Vec::with_capacity(self.layout.len());
        let mut fields = Vec::with_capacity(self.layout.len());
        for place in &self.layout {
            let (column, field) = match place {
                Some(i) => (own[*i].clone(), self.fields[*i].clone()),
                None => match (their_columns.next(), their_fields.next()) {
                    (Some(c), Some(f)) => (c, f),
                    _ => {
                        return Err(Error::internal(
                            "the parquet crate's batch has fewer columns than planned",
                        ))
                    }
                },
            };
            columns.push(column);
            fields.push(field);
        }
        let schema = match &self.schema {
            Some(schema) if schema.fields().iter().eq(fields.iter()) => schema.clone(),
            _ => self.schema.insert(Arc::new(Schema::new(fields))).clone(),
        };
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|e| Error::corrupt(format!("cannot join decoded columns: {e}")))
    }

    /// Rows still to come from strata's columns: what a reader without the crate's columns
    /// has left.
    pub(crate) fn rows_left(&self) -> usize {
        self.rows_left
    }
}
