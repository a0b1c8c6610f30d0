//! Rendering fixes: the [`Fix`](crate::finding::Fix) intents of findings become scripts in a dialect
//! (`script`, from the minijinja templates of `render`), and whole configs are generated from
//! manifests (`generate`). Every value reaching a template is quoted for its dialect (`quote`).

pub(crate) mod generate;
pub mod quote;
pub(crate) mod render;
pub(crate) mod script;
