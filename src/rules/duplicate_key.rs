//! `duplicate-key`: a mapping key written twice; the later value wins and the earlier is lost.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `duplicate-key`.
pub const META: RuleMeta = RuleMeta {
    id: "duplicate-key",
    severity: Severity::Error,
    summary: "a mapping key is written twice; the earlier value is silently lost",
    facts: &[],
    docs: r#"## What it does
Reports a key written a second time in the same YAML mapping. preflight reads the later value, as
PyYAML, `kubectl` (in most versions) and other non-strict readers do, and checks the rest of the file;
the earlier value is pointed at as the one that is lost.

## Why is this bad?
YAML forbids duplicate keys, but most tools accept them and keep one value without a word: a second
`ports:` under a service replaces the first list, a second `env:` hides variables, and which one wins
depends on the tool (strict parsers refuse the file, some keep the first). What was reviewed is not
what runs.

## Example
```yaml
services:
  web:
    ports: ["80:80"]
    image: nginx
    ports: ["8080:80"]    # replaces the first list
```

## Fix
Merge the two values into one key, or delete the one that is wrong.
"#,
};

/// Reports every duplicate the reader recorded.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for d in &cx.manifest.duplicates {
        out.push(
            Finding::new(
                &META,
                d.path.clone(),
                format!(
                    "`{}` is written twice in one mapping: the later value is read and the earlier is lost",
                    d.key
                ),
            )
            .label("second")
            .related(d.earlier.clone(), "first written here")
            .help("merge the two into one key, or delete the one that is wrong"),
        );
    }
}
