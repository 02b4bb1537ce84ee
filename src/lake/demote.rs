//! The lake's demotion hook: a Parquet object moving to a colder tier is re-encoded with that
//! tier's codec policy (the store moves bytes; the format module knows Parquet).

use std::sync::Arc;

use crate::store::Store;

/// Gives `store` the hook, with the codec policies of its own configuration.
pub(super) fn install(store: &mut Store) {
    let format = store.config().format.clone();
    store.set_demotion_hook(Arc::new(move |plain, tier, position| {
        let policy = format.tier_codec(tier, position)?;
        crate::format::reencode_parquet(plain, policy, Some(position)).map(bytes::Bytes::from)
    }));
}
