//! The application as `mpos serve` and `mpos admin` build it
//! ([`mpos_cli::app::App::build`]): store, business-day clock, layout and
//! PAN hash key from the default configuration, over a data folder of the
//! test's own.

use mpos_cli::app::App;
use mpos_cli::config::{Config, FlagOverrides};
use std::path::Path;

/// The application over `data_dir` (created with its store and key if new),
/// with the default configuration, on the backend the tests run on
/// ([`crate::backend`]).
pub fn in_dir(data_dir: &Path) -> App {
    let mut config = Config::load(
        None,
        &FlagOverrides {
            data_dir: Some(data_dir.to_owned()),
            ..FlagOverrides::default()
        },
    )
    .expect("the default configuration loads");
    if let Some(url) = crate::backend::store_url(data_dir) {
        config.store.url = mpos_cli::config::StoreUrl(url);
    }
    App::build(config).expect("the application builds in a test folder")
}

/// A new temporary data folder and the application over it. Keep the
/// folder as long as the application.
pub fn fresh() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let app = in_dir(dir.path());
    (dir, app)
}
