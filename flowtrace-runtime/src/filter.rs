//! Which modules are traced, which argument names are redacted, how long an argument may be:
//! what a configuration selects, decided once per call site and configuration (see
//! `site.rs`), never per call.

/// Everything a call site's decisions depend on.
#[derive(Debug)]
pub(crate) struct Selection {
    /// The configuration these decisions belong to: a site caches them under it.
    pub(crate) generation: u64,
    pub(crate) modules: ModuleFilter,
    pub(crate) redaction: Redaction,
    pub(crate) max_arg_length: usize,
}

/// Module-path prefixes to include (empty: all) and to exclude.
#[derive(Debug, Default)]
pub(crate) struct ModuleFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl ModuleFilter {
    pub(crate) fn new(include: Vec<String>, exclude: Vec<String>) -> Self {
        Self { include, exclude }
    }

    pub(crate) fn allows(&self, module: &str) -> bool {
        let included =
            self.include.is_empty() || self.include.iter().any(|p| module.starts_with(p.as_str()));
        included && !self.exclude.iter().any(|p| module.starts_with(p.as_str()))
    }
}

/// Case-insensitive substrings that mark an argument name as secret.
#[derive(Debug, Default)]
pub(crate) struct Redaction {
    lowercase_names: Vec<String>,
}

impl Redaction {
    pub(crate) fn new(names: &[String]) -> Self {
        Self {
            lowercase_names: names
                .iter()
                .filter(|name| !name.is_empty())
                .map(|name| name.to_lowercase())
                .collect(),
        }
    }

    pub(crate) fn matches(&self, arg_name: &str) -> bool {
        let arg_name = arg_name.to_lowercase();
        self.lowercase_names
            .iter()
            .any(|secret| arg_name.contains(secret.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_and_exclude_prefixes() {
        let all = ModuleFilter::default();
        assert!(all.allows("anything::at_all"));
        let filter = ModuleFilter::new(vec!["app".into()], vec!["app::noisy".into()]);
        assert!(filter.allows("app"));
        assert!(filter.allows("app::rooms"));
        assert!(!filter.allows("app::noisy::inner"));
        assert!(!filter.allows("other"));
    }

    #[test]
    fn redaction_is_a_case_insensitive_substring() {
        let redaction = Redaction::new(&["password".into(), "Token".into(), String::new()]);
        assert!(redaction.matches("password"));
        assert!(redaction.matches("user_PASSWORD_hash"));
        assert!(redaction.matches("api_token"));
        assert!(!redaction.matches("username"));
    }
}
