//! Reads `template.yaml`.
