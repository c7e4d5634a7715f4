//! The generated configuration reference and the checked-in `docs/configuration.md`.

use super::*;
use crate::config::reference::REGENERATE;

#[test]
fn the_reference_names_every_key_alias_and_default() {
    let text = reference();
    for spec in keys() {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", spec.key)))
            .unwrap_or_else(|| panic!("no row for {}", spec.key));
        assert!(!spec.about.is_empty(), "{} has no meaning", spec.key);
        for alias in spec.aliases {
            assert!(row.contains(&format!("`{alias}`")), "{row}");
        }
        if let Some(default) = spec.default_value().filter(|d| !d.is_empty()) {
            assert!(row.contains(&format!("`{default}`")), "{row}");
        }
    }
    assert!(
        text.contains("| `authentication.refresh.token.expiry` | duration | `1209600` (14 days) |")
    );
    assert!(text.contains("| `authentication.client.ids` | list | required |"));
}

#[test]
fn the_checked_in_configuration_reference_is_what_the_code_prints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == reference(),
        "{} differs from what `authserver config reference` prints (the key table in \
         src/config/table.rs changed?). Regenerate it with:\n    {REGENERATE}",
        path.display()
    );
}
