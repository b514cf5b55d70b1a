//! API Gateway's resource tree: matches a request path and method to a route the way a REST API does,
//! so a path that works locally works deployed and the other way round.
//!
//! Resources are built from the template's event paths. A segment is a literal, a `{param}` or, last, a
//! greedy `{proxy+}` that takes one or more segments. A literal beats a variable; at most one variable
//! may sit under a parent (API Gateway refuses sibling variables too). The resource is chosen by path
//! first; then the method: an exact method, else `ANY`. A path that reaches an intermediate resource
//! (say `/v1` of `/v1/me`) or a resource without the method is not a route (API Gateway answers
//! `MISSING_AUTHENTICATION_TOKEN` for both).

use std::collections::BTreeMap;

/// A route that cannot be added to the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path is not a valid resource path.
    #[error("{method} {path}: {problem}")]
    InvalidPath {
        route: String,
        method: String,
        path: String,
        problem: String,
    },
    /// The same method and path twice.
    #[error("{method} {path} is declared twice ({first} and {route})")]
    Duplicate {
        route: String,
        first: String,
        method: String,
        path: String,
    },
    /// Two different variables under one parent.
    #[error("{path}: conflicting path variables {existing} and {new} under {parent}")]
    ConflictingVariables {
        route: String,
        path: String,
        parent: String,
        existing: String,
        new: String,
    },
}

impl RouteError {
    /// The label of the route that could not be added (as passed to [`RouteTable::build`]).
    pub fn route(&self) -> &str {
        match self {
            Self::InvalidPath { route, .. }
            | Self::Duplicate { route, .. }
            | Self::ConflictingVariables { route, .. } => route,
        }
    }
}

/// The resource tree, each method of each resource carrying a `T`.
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    root: Node<T>,
}

#[derive(Debug, Clone)]
struct Node<T> {
    /// The resource path, e.g. `/v1/me/keys/{id}`.
    resource: String,
    literals: BTreeMap<String, Node<T>>,
    variable: Option<Box<Variable<T>>>,
    /// Method (upper case, or `ANY`) -> (label, target).
    methods: BTreeMap<String, (String, T)>,
}

#[derive(Debug, Clone)]
struct Variable<T> {
    name: String,
    greedy: bool,
    node: Node<T>,
}

impl<T> Node<T> {
    fn new(resource: String) -> Self {
        Self {
            resource,
            literals: BTreeMap::new(),
            variable: None,
            methods: BTreeMap::new(),
        }
    }
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    /// What the route was built with.
    pub target: &'a T,
    /// The resource path (`resource` in the events), e.g. `/v1/me/keys/{id}`.
    pub resource: &'a str,
    /// Path parameters, percent-decoded.
    pub path_parameters: BTreeMap<String, String>,
}

enum Segment<'a> {
    Literal(&'a str),
    Variable { name: &'a str, greedy: bool },
}

fn parse_segment(segment: &str) -> Result<Segment<'_>, String> {
    if let Some(inner) = segment
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    {
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !valid {
            return Err(format!("{segment} is not a valid path variable"));
        }
        return Ok(Segment::Variable { name, greedy });
    }
    if segment.contains(['{', '}']) {
        return Err(format!(
            "{segment}: a path variable must be a whole segment"
        ));
    }
    Ok(Segment::Literal(segment))
}

impl<T> RouteTable<T> {
    /// Builds the tree from `(path, method, label, target)`; `label` names the route in errors.
    pub fn build_with<I>(routes: I) -> Result<Self, RouteError>
    where
        I: IntoIterator<Item = (String, String, String, T)>,
    {
        let mut table = Self {
            root: Node::new("/".to_owned()),
        };
        for (path, method, label, target) in routes {
            table.insert(&path, &method, label, target)?;
        }
        Ok(table)
    }

    fn insert(
        &mut self,
        path: &str,
        method: &str,
        label: String,
        target: T,
    ) -> Result<(), RouteError> {
        let invalid = |problem: String| RouteError::InvalidPath {
            route: label.clone(),
            method: method.to_owned(),
            path: path.to_owned(),
            problem,
        };
        let Some(rest) = path.strip_prefix('/') else {
            return Err(invalid("a path must start with /".to_owned()));
        };
        let mut node = &mut self.root;
        let mut names: Vec<&str> = Vec::new();
        if !rest.is_empty() {
            let segments: Vec<&str> = rest.split('/').collect();
            let last = segments.len().saturating_sub(1);
            for (index, raw) in segments.iter().enumerate() {
                if raw.is_empty() {
                    return Err(invalid("empty path segment".to_owned()));
                }
                let parent = node.resource.clone();
                let child_resource = if parent == "/" {
                    format!("/{raw}")
                } else {
                    format!("{parent}/{raw}")
                };
                match parse_segment(raw).map_err(&invalid)? {
                    Segment::Literal(literal) => {
                        node = node
                            .literals
                            .entry(literal.to_owned())
                            .or_insert_with(|| Node::new(child_resource));
                    }
                    Segment::Variable { name, greedy } => {
                        if greedy && index != last {
                            return Err(invalid(format!(
                                "{raw}: a greedy variable must be the last segment"
                            )));
                        }
                        if names.contains(&name) {
                            return Err(invalid(format!("{raw}: variable used twice")));
                        }
                        names.push(name);
                        let variable = node.variable.get_or_insert_with(|| {
                            Box::new(Variable {
                                name: name.to_owned(),
                                greedy,
                                node: Node::new(child_resource),
                            })
                        });
                        if variable.name != name || variable.greedy != greedy {
                            let shown = |name: &str, greedy: bool| {
                                format!("{{{name}{}}}", if greedy { "+" } else { "" })
                            };
                            return Err(RouteError::ConflictingVariables {
                                route: label,
                                path: path.to_owned(),
                                parent,
                                existing: shown(&variable.name, variable.greedy),
                                new: shown(name, greedy),
                            });
                        }
                        node = &mut variable.node;
                    }
                }
            }
        }
        if let Some((first, _)) = node.methods.get(method) {
            return Err(RouteError::Duplicate {
                first: first.clone(),
                route: label,
                method: method.to_owned(),
                path: path.to_owned(),
            });
        }
        node.methods.insert(method.to_owned(), (label, target));
        Ok(())
    }

    /// Finds the route of `method` (upper case) on `path` (the raw request path, without query string).
    pub fn lookup(&self, method: &str, path: &str) -> Option<RouteMatch<'_, T>> {
        let rest = path.strip_prefix('/')?;
        // API Gateway treats one trailing slash as absent: `/health/` is `/health`.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut parameters = Vec::new();
        let node = find(&self.root, &segments, &mut parameters)?;
        let (_, target) = node
            .methods
            .get(method)
            .or_else(|| node.methods.get("ANY"))?;
        Some(RouteMatch {
            target,
            resource: &node.resource,
            path_parameters: parameters.into_iter().collect(),
        })
    }
}

impl RouteTable<()> {
    /// Checks `(path, method, label)` routes without targets (what the template reader validates).
    pub fn build<'a, I>(routes: I) -> Result<Self, RouteError>
    where
        I: IntoIterator<Item = (&'a str, &'a str, String)>,
    {
        Self::build_with(
            routes
                .into_iter()
                .map(|(path, method, label)| (path.to_owned(), method.to_owned(), label, ())),
        )
    }
}

/// Depth-first: literal child first, then the variable; backtracks when a branch cannot take the rest.
fn find<'n, T>(
    node: &'n Node<T>,
    segments: &[&str],
    parameters: &mut Vec<(String, String)>,
) -> Option<&'n Node<T>> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(node);
    };
    if first.is_empty() {
        return None;
    }
    let decoded = percent_decode(first);
    if let Some(child) = node
        .literals
        .get(*first)
        .or_else(|| node.literals.get(&decoded))
        && let Some(found) = find(child, rest, parameters)
    {
        return Some(found);
    }
    let variable = node.variable.as_deref()?;
    if variable.greedy {
        let joined = segments.join("/");
        parameters.push((variable.name.clone(), percent_decode(&joined)));
        return Some(&variable.node);
    }
    parameters.push((variable.name.clone(), decoded));
    match find(&variable.node, rest, parameters) {
        Some(found) => Some(found),
        None => {
            parameters.pop();
            None
        }
    }
}

/// Decodes `%XX` escapes (UTF-8, lossily); `+` stays `+` (it is a space only in form bodies).
pub fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let high = bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16));
            let low = bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16));
            if let (Some(high), Some(low)) = (high, low) {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                index += 3;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    fn table(routes: &[(&str, &str)]) -> RouteTable<String> {
        RouteTable::build_with(routes.iter().map(|(method, path)| {
            (
                (*path).to_owned(),
                (*method).to_owned(),
                format!("{method} {path}"),
                format!("{method} {path}"),
            )
        }))
        .unwrap()
    }

    fn hit(
        table: &RouteTable<String>,
        method: &str,
        path: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        table.lookup(method, path).map(|found| {
            (
                found.target.clone(),
                found.path_parameters.into_iter().collect(),
            )
        })
    }

    #[test]
    fn literals_beat_variables_and_methods_fall_back_to_any() {
        let table = table(&[
            ("GET", "/v1/me"),
            ("GET", "/v1/me/keys"),
            ("POST", "/v1/me/keys"),
            ("DELETE", "/v1/me/keys/{id}"),
            ("GET", "/v1/me/keys/special"),
            ("ANY", "/v1/things/{id}"),
            ("GET", "/"),
        ]);
        assert_eq!(hit(&table, "GET", "/v1/me").unwrap().0, "GET /v1/me");
        assert_eq!(hit(&table, "GET", "/v1/me/").unwrap().0, "GET /v1/me");
        assert_eq!(
            hit(&table, "POST", "/v1/me/keys").unwrap().0,
            "POST /v1/me/keys"
        );
        let (target, params) = hit(&table, "DELETE", "/v1/me/keys/k_1%20x").unwrap();
        assert_eq!(target, "DELETE /v1/me/keys/{id}");
        assert_eq!(params, vec![("id".to_owned(), "k_1 x".to_owned())]);
        assert_eq!(
            hit(&table, "GET", "/v1/me/keys/special").unwrap().0,
            "GET /v1/me/keys/special"
        );
        // `special` is a literal resource without DELETE: API Gateway does not fall back to {id}.
        assert!(hit(&table, "DELETE", "/v1/me/keys/special").is_none());
        assert_eq!(
            hit(&table, "PATCH", "/v1/things/7").unwrap().0,
            "ANY /v1/things/{id}"
        );
        assert_eq!(hit(&table, "GET", "/").unwrap().0, "GET /");
        assert_eq!(
            table.lookup("GET", "/v1/me/keys/x").map(|m| m.resource),
            None
        );
        assert_eq!(
            table.lookup("DELETE", "/v1/me/keys/x").map(|m| m.resource),
            Some("/v1/me/keys/{id}")
        );
    }

    #[test]
    fn unknown_paths_methods_and_intermediate_resources_miss() {
        let table = table(&[("GET", "/v1/me"), ("GET", "/health")]);
        assert!(hit(&table, "GET", "/nope").is_none());
        assert!(hit(&table, "POST", "/health").is_none());
        assert!(hit(&table, "GET", "/v1").is_none());
        assert!(hit(&table, "GET", "/").is_none());
        assert!(hit(&table, "GET", "//health").is_none());
        assert!(hit(&table, "GET", "/v1/me/extra").is_none());
        assert!(hit(&table, "GET", "health").is_none());
    }

    #[test]
    fn greedy_variables_take_one_or_more_segments() {
        let table = table(&[("ANY", "/files/{proxy+}"), ("GET", "/files/a/b")]);
        let (target, params) = hit(&table, "GET", "/files/x/y/z").unwrap();
        assert_eq!(target, "ANY /files/{proxy+}");
        assert_eq!(params, vec![("proxy".to_owned(), "x/y/z".to_owned())]);
        assert_eq!(
            hit(&table, "GET", "/files/a/b").unwrap().0,
            "GET /files/a/b"
        );
        // The literal branch `a` cannot take `c`: backtrack to the greedy variable.
        assert_eq!(
            hit(&table, "GET", "/files/a/c").unwrap().1,
            vec![("proxy".to_owned(), "a/c".to_owned())]
        );
        assert!(hit(&table, "GET", "/files").is_none());
    }

    #[test]
    fn variables_backtrack_across_levels() {
        let table = table(&[("GET", "/a/{x}/c"), ("GET", "/a/b/d")]);
        // The literal `b` has no child `c`: back to `{x}`.
        let (target, params) = hit(&table, "GET", "/a/b/c").unwrap();
        assert_eq!(target, "GET /a/{x}/c");
        assert_eq!(params, vec![("x".to_owned(), "b".to_owned())]);
        assert_eq!(hit(&table, "GET", "/a/b/d").unwrap().0, "GET /a/b/d");

        // A path that ends on an intermediate resource takes it (no method there: no route).
        let table = super::tests::table(&[("GET", "/a/{x}/c"), ("GET", "/a/b/{y}/d")]);
        assert!(hit(&table, "GET", "/a/b/c").is_none());
        let (target, params) = hit(&table, "GET", "/a/b/q/d").unwrap();
        assert_eq!(target, "GET /a/b/{y}/d");
        assert_eq!(params, vec![("y".to_owned(), "q".to_owned())]);
    }

    #[test]
    fn invalid_and_conflicting_routes_are_refused() {
        let build = |routes: &[(&str, &str)]| {
            RouteTable::build(
                routes
                    .iter()
                    .map(|(method, path)| (*path, *method, format!("F.{method}"))),
            )
            .map(drop)
            .unwrap_err()
        };
        assert!(matches!(
            build(&[("GET", "health")]),
            RouteError::InvalidPath { .. }
        ));
        assert!(matches!(
            build(&[("GET", "/a//b")]),
            RouteError::InvalidPath { .. }
        ));
        assert!(matches!(
            build(&[("GET", "/a/{p+}/b")]),
            RouteError::InvalidPath { .. }
        ));
        assert!(matches!(
            build(&[("GET", "/a/x{p}")]),
            RouteError::InvalidPath { .. }
        ));
        assert!(matches!(
            build(&[("GET", "/{a}/{a}")]),
            RouteError::InvalidPath { .. }
        ));
        let duplicate = build(&[("GET", "/a"), ("GET", "/a")]);
        assert!(matches!(duplicate, RouteError::Duplicate { .. }));
        assert_eq!(duplicate.route(), "F.GET");
        let conflict = build(&[("GET", "/a/{x}"), ("POST", "/a/{y}")]);
        assert_eq!(
            conflict.to_string(),
            "/a/{y}: conflicting path variables {x} and {y} under /a"
        );
        assert!(matches!(
            build(&[("GET", "/a/{x}"), ("POST", "/a/{x+}")]),
            RouteError::ConflictingVariables { .. }
        ));
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Fb%20c+d"), "a/b c+d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
