//! Reads `template.yaml`, the SAM template the project deploys, so `gatehouse serve` runs exactly the routes,
//! authorizer, cache TTL and gateway responses a deployment would have, with no second copy of them to drift.
//!
//! Only what the API Gateway emulator needs is extracted: parameter defaults, the one
//! `AWS::Serverless::Api` (stage, authorizers, gateway responses), the optional one
//! `AWS::Serverless::HttpApi` (its Lambda authorizers) and every `AWS::Serverless::Function` with its
//! binary (`Metadata.BuildProperties.Binary`), timeout, `Api` events and `HttpApi` events. CloudFormation short tags (`!Ref`, `!GetAtt`, `!If`, ...)
//! are read as YAML tags; the few places the emulator must resolve (`StageName`, `ReauthorizeEvery`,
//! `Timeout`) accept a literal or a `!Ref` to a parameter with a value.
//!
//! A gateway response header value (`ResponseParameters.Headers.<name>`) may also be built with
//! intrinsics, short or long form: `!If [Condition, a, b]`, `!Sub "text ${Name}"` (or
//! `!Sub [text, {Name: value}]`; `${!Literal}` stays `${Literal}`) and `!Ref Name`, where a name is a
//! parameter or one of the pseudo parameters in [`PSEUDO_PARAMETERS`], and `!Ref AWS::NoValue` leaves the
//! header out. `!If` evaluates a condition of the template's `Conditions` section, which may use
//! `!Equals [a, b]` (over literals, `!Ref` and `!Sub`), `!Not`, `!And`, `!Or` and `!Condition <name>`;
//! conditions are evaluated only when a header value needs them.
//!
//! A parameter's value is its `Default`, unless the loader overrides it ([`ParameterOverrides`], as
//! `sam deploy --parameter-overrides` does; `gatehouse serve` sets `PublicBaseUrl` to its own URL).
//! `AllowedValues` and `AllowedPattern` are not checked. Anything the emulator cannot reproduce faithfully
//! is an error naming the file, the resource and the field, never a silent guess.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::{Mapping, Value};

use crate::gateway::responses::ResponseType;
use crate::gateway::routes::RouteTable;

/// SAM's default `ReauthorizeEvery` when an authorizer's `Identity` does not set one.
pub const DEFAULT_REAUTHORIZE_EVERY_SECS: u64 = 300;
/// API Gateway's upper bound on an authorizer's result TTL.
pub const MAX_REAUTHORIZE_EVERY_SECS: u64 = 3600;
/// Lambda's default function timeout (SAM leaves it to Lambda).
pub const DEFAULT_FUNCTION_TIMEOUT_SECS: u64 = 3;
/// The pseudo parameters the emulator resolves, with their fixed local values (the region and account
/// the gateway reports by default). Others (`AWS::StackName`, `AWS::StackId`, ...) have no local value
/// and are refused.
pub const PSEUDO_PARAMETERS: [(&str, &str); 4] = [
    ("AWS::AccountId", "123456789012"),
    ("AWS::Partition", "aws"),
    ("AWS::Region", "us-east-1"),
    ("AWS::URLSuffix", "amazonaws.com"),
];
/// The pseudo parameter that removes the property it is the value of.
const NO_VALUE: &str = "AWS::NoValue";

/// Parameter values that replace the parameters' `Default`s when a template is loaded, as
/// `sam deploy --parameter-overrides` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterOverrides {
    values: BTreeMap<String, String>,
    /// Names set with [`ParameterOverrides::set_if_declared`].
    optional: BTreeSet<String>,
}

impl ParameterOverrides {
    /// No overrides: every parameter has its `Default`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`; loading a template that does not declare `name` fails.
    #[must_use]
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.optional.remove(&name);
        self.values.insert(name, value.into());
        self
    }

    /// Sets `name` to `value` when the template declares `name`; ignored when it does not.
    #[must_use]
    pub fn set_if_declared(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.optional.insert(name.clone());
        self.values.insert(name, value.into());
        self
    }

    /// The value set for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names set with [`ParameterOverrides::set`] that `declared` does not contain.
    fn undeclared<'a>(
        &'a self,
        declared: &'a BTreeMap<String, Parameter>,
    ) -> impl Iterator<Item = &'a str> {
        self.values
            .keys()
            .filter(|name| !self.optional.contains(*name) && !declared.contains_key(*name))
            .map(String::as_str)
    }
}

/// A template that could not be read or is not one the emulator can run.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("{file}: not valid YAML: {source}")]
    Yaml {
        file: String,
        #[source]
        source: serde_norway::Error,
    },
    /// The YAML is not a template the emulator can run; `location` is the dotted path of the field.
    #[error("{file}: {location}: {problem}")]
    Invalid {
        file: String,
        location: String,
        problem: String,
    },
}

/// The parts of a SAM template the gateway emulator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `Parameters`, by name.
    pub parameters: BTreeMap<String, Parameter>,
    /// The template's one `AWS::Serverless::Api`.
    pub api: Api,
    /// The template's `AWS::Serverless::HttpApi`, if it has one.
    pub http_api: Option<HttpApi>,
    /// Every `AWS::Serverless::Function`, by logical id.
    pub functions: BTreeMap<String, Function>,
}

/// One template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// `Type` (`String`, `Number`, ...).
    pub kind: String,
    /// `Default`, as text (numbers and booleans as written); `None` when the parameter has none.
    pub default: Option<String>,
    /// The value the emulator resolves it to: its [`ParameterOverrides`] value, else `default`.
    pub value: Option<String>,
}

/// The `AWS::Serverless::Api` resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// Its logical id (what events' `RestApiId: !Ref` names).
    pub logical_id: String,
    /// `StageName`, resolved.
    pub stage_name: String,
    /// `Auth.DefaultAuthorizer`.
    pub default_authorizer: Option<String>,
    /// `Auth.Authorizers`, by name.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// `GatewayResponses`, by type.
    pub gateway_responses: BTreeMap<ResponseType, GatewayResponse>,
}

/// The `AWS::Serverless::HttpApi` resource (its stage is `$default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpApi {
    /// Its logical id (what events' `ApiId: !Ref` names).
    pub logical_id: String,
    /// `Auth.DefaultAuthorizer`.
    pub default_authorizer: Option<String>,
    /// `Auth.Authorizers`, by name: Lambda authorizers with payload format 2.0 and simple responses.
    pub authorizers: BTreeMap<String, Authorizer>,
}

/// A Lambda REQUEST authorizer (`FunctionPayloadType: REQUEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    /// Its name under `Auth.Authorizers`.
    pub name: String,
    /// Logical id of the function (`FunctionArn: !GetAtt <id>.Arn`).
    pub function: String,
    /// `Identity.Headers` then `Identity.QueryStrings`, in template order.
    pub identity_sources: Vec<IdentitySource>,
    /// `Identity.ReauthorizeEvery`, resolved (zero disables caching).
    pub reauthorize_every: Duration,
}

/// Where API Gateway reads one identity source of a REQUEST authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `method.request.header.<name>` (matched case-insensitively).
    Header(String),
    /// `method.request.querystring.<name>`.
    QueryString(String),
}

impl IdentitySource {
    /// The mapping expression API Gateway shows for it, e.g. `method.request.header.Authorization`.
    pub fn expression(&self) -> String {
        match self {
            Self::Header(name) => format!("method.request.header.{name}"),
            Self::QueryString(name) => format!("method.request.querystring.{name}"),
        }
    }
}

/// One entry of `GatewayResponses`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayResponse {
    /// `StatusCode`, when set.
    pub status_code: Option<u16>,
    /// `ResponseParameters.Headers`, in template order.
    pub headers: Vec<(String, HeaderMapping)>,
    /// `ResponseTemplates`, by content type.
    pub templates: BTreeMap<String, String>,
}

/// The value of a gateway response header: a static string or a value taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderMapping {
    /// `'text'` in the template; the quotes are not part of the value.
    Static(String),
    /// `method.request.header.<name>`.
    RequestHeader(String),
    /// `method.request.querystring.<name>`.
    RequestQueryString(String),
    /// `method.request.path.<name>`.
    RequestPath(String),
}

/// An `AWS::Serverless::Function`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its logical id.
    pub logical_id: String,
    /// `CodeUri` (e.g. `functions`), without a leading `./` or trailing `/`.
    pub code_uri: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary SAM builds for it (`rust-cargolambda`),
    /// and the key `gatehouse serve` picks the in-process implementation by.
    pub binary: Option<String>,
    /// `Timeout` (or `Globals.Function.Timeout`, or Lambda's default of 3 s).
    pub timeout: Duration,
    /// Its `Type: Api` events (the REST API's routes).
    pub routes: Vec<Route>,
    /// Its `Type: HttpApi` events (the HTTP API's routes).
    pub http_routes: Vec<Route>,
}

impl Function {
    /// What implements it: the binary, else the `CodeUri`.
    pub fn implementation(&self) -> &str {
        self.binary.as_deref().unwrap_or(&self.code_uri)
    }
}

/// One `Type: Api` or `Type: HttpApi` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The event's name under `Events`.
    pub event: String,
    /// `Path`, e.g. `/v1/me/keys/{id}`.
    pub path: String,
    /// `Method`, upper case; `ANY` matches every method.
    pub method: String,
    /// The authorizer guarding it: `Auth.Authorizer`, else the API's default; `None` for
    /// `Authorizer: NONE` or when the API has no default.
    pub authorizer: Option<String>,
}

/// The HTTP methods SAM accepts on an `Api` event.
pub const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

impl Template {
    /// Reads and parses the template at `path`, every parameter with its `Default`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        Self::load_with(path, &ParameterOverrides::new())
    }

    /// Reads and parses the template at `path`, with `overrides` replacing parameters' defaults.
    pub fn load_with(
        path: impl AsRef<Path>,
        overrides: &ParameterOverrides,
    ) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_named_with(&text, &path.display().to_string(), overrides)
    }

    /// Parses template text (errors call the file `template`).
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Self::parse_named(text, "template")
    }

    /// Parses template text; errors name `file`.
    pub fn parse_named(text: &str, file: &str) -> Result<Self, TemplateError> {
        Self::parse_named_with(text, file, &ParameterOverrides::new())
    }

    /// Parses template text with `overrides` replacing parameters' defaults; errors name `file`.
    pub fn parse_named_with(
        text: &str,
        file: &str,
        overrides: &ParameterOverrides,
    ) -> Result<Self, TemplateError> {
        let root: Value = serde_norway::from_str(text).map_err(|source| TemplateError::Yaml {
            file: file.to_owned(),
            source,
        })?;
        parse_root(&root, overrides).map_err(|problem| TemplateError::Invalid {
            file: file.to_owned(),
            location: problem.location,
            problem: problem.problem,
        })
    }

    /// Every REST API route, with the function serving it, in function then event order.
    pub fn routes(&self) -> impl Iterator<Item = (&Function, &Route)> {
        self.functions
            .values()
            .flat_map(|function| function.routes.iter().map(move |route| (function, route)))
    }

    /// Every HTTP API route, with the function serving it, in function then event order.
    pub fn http_routes(&self) -> impl Iterator<Item = (&Function, &Route)> {
        self.functions.values().flat_map(|function| {
            function
                .http_routes
                .iter()
                .map(move |route| (function, route))
        })
    }

    /// The function with this logical id.
    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions.get(logical_id)
    }

    /// The implementations ([`Function::implementation`]) of every function, sorted and without
    /// duplicates: `gatehouse serve` must provide them all.
    pub fn required_implementations(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .functions
            .values()
            .map(|function| function.implementation().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A problem at a dotted location, before the file name is attached.
#[derive(Debug)]
struct Problem {
    location: String,
    problem: String,
}

fn problem(location: &str, problem: impl Into<String>) -> Problem {
    Problem {
        location: location.to_owned(),
        problem: problem.into(),
    }
}

type Parsed<T> = Result<T, Problem>;

fn mapping<'a>(value: &'a Value, location: &str) -> Parsed<&'a Mapping> {
    match value {
        Value::Mapping(map) => Ok(map),
        _ => Err(problem(location, "expected a mapping")),
    }
}

fn optional_mapping<'a>(
    map: &'a Mapping,
    key: &str,
    location: &str,
) -> Parsed<Option<&'a Mapping>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => mapping(value, &format!("{location}.{key}")).map(Some),
    }
}

fn string<'a>(value: &'a Value, location: &str) -> Parsed<&'a str> {
    match value {
        Value::String(text) => Ok(text),
        _ => Err(problem(location, "expected a string")),
    }
}

fn string_list(value: &Value, location: &str) -> Parsed<Vec<String>> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item, &format!("{location}[{i}]")).map(str::to_owned))
            .collect(),
        _ => Err(problem(location, "expected a list of strings")),
    }
}

/// A `!Ref X` / `{Ref: X}` target, if `value` is one.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => match &tagged.value {
            Value::String(target) => Some(target),
            _ => None,
        },
        Value::Mapping(map) if map.len() == 1 => match map.get("Ref") {
            Some(Value::String(target)) => Some(target),
            _ => None,
        },
        _ => None,
    }
}

/// The logical id named by `!GetAtt X.Arn`, `!GetAtt [X, Arn]` or `{Fn::GetAtt: ...}`.
fn get_att_arn(value: &Value, location: &str) -> Parsed<String> {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => map.get("Fn::GetAtt"),
        _ => None,
    };
    let not_get_att = || {
        problem(
            location,
            "expected `!GetAtt <FunctionLogicalId>.Arn` (the emulator resolves only a function in this template)",
        )
    };
    let (id, attribute) = match target.ok_or_else(not_get_att)? {
        Value::String(text) => text.split_once('.').ok_or_else(not_get_att)?,
        Value::Sequence(parts) => match parts.as_slice() {
            [Value::String(id), Value::String(attribute)] => (id.as_str(), attribute.as_str()),
            _ => return Err(not_get_att()),
        },
        _ => return Err(not_get_att()),
    };
    if attribute != "Arn" {
        return Err(not_get_att());
    }
    Ok(id.to_owned())
}

struct Context<'a> {
    parameters: &'a BTreeMap<String, Parameter>,
    /// The `Conditions` section, evaluated on demand.
    conditions: Option<&'a Mapping>,
}

impl Context<'_> {
    /// The value of parameter `name` as text, for `reference` (`!Ref X`, `${X}`) at `location`.
    fn parameter(&self, name: &str, reference: &str, location: &str) -> Parsed<String> {
        let parameter = self.parameters.get(name).ok_or_else(|| {
            problem(
                location,
                format!("{reference}: not a parameter of this template (the emulator resolves only parameters)"),
            )
        })?;
        if parameter.kind.starts_with("List<")
            || parameter.kind == "CommaDelimitedList"
            || parameter.kind.starts_with("AWS::SSM::")
        {
            return Err(problem(
                location,
                format!(
                    "{reference}: a {} parameter, which the emulator cannot resolve to a string",
                    parameter.kind
                ),
            ));
        }
        parameter.value.clone().ok_or_else(|| {
            problem(
                location,
                format!(
                    "{reference}: the parameter has no Default, so the emulator cannot resolve it"
                ),
            )
        })
    }

    /// A scalar written literally or as a `!Ref` to a parameter with a value, as text.
    fn scalar(&self, value: &Value, location: &str) -> Parsed<String> {
        if let Some(target) = ref_target(value) {
            return self.parameter(target, &format!("!Ref {target}"), location);
        }
        scalar_text(value).ok_or_else(|| {
            problem(
                location,
                "expected a string, a number or a !Ref to a parameter with a default",
            )
        })
    }

    fn seconds(&self, value: &Value, location: &str, max: u64) -> Parsed<u64> {
        let text = self.scalar(value, location)?;
        let seconds: u64 = text
            .trim()
            .parse()
            .map_err(|_| problem(location, format!("expected whole seconds, found {text:?}")))?;
        if seconds > max {
            return Err(problem(
                location,
                format!("{seconds} is more than the maximum of {max} seconds"),
            ));
        }
        Ok(seconds)
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn parse_root(root: &Value, overrides: &ParameterOverrides) -> Parsed<Template> {
    let root = mapping(root, "(top level)")?;
    let parameters = parse_parameters(root, overrides)?;
    let context = Context {
        parameters: &parameters,
        conditions: optional_mapping(root, "Conditions", "")?,
    };
    let resources = root
        .get("Resources")
        .ok_or_else(|| problem("Resources", "missing"))?;
    let resources = mapping(resources, "Resources")?;
    let globals = optional_mapping(root, "Globals", "")?;
    let function_globals = match globals {
        Some(globals) => optional_mapping(globals, "Function", "Globals")?,
        None => None,
    };
    if let Some(api_globals) = match globals {
        Some(globals) => optional_mapping(globals, "Api", "Globals")?,
        None => None,
    } {
        for key in [
            "Auth",
            "GatewayResponses",
            "Cors",
            "DefinitionBody",
            "DefinitionUri",
        ] {
            if api_globals.contains_key(key) {
                return Err(problem(
                    &format!("Globals.Api.{key}"),
                    "not supported by the gateway emulator; set it on the AWS::Serverless::Api resource",
                ));
            }
        }
    }

    let mut api: Option<(String, &Mapping)> = None;
    let mut http_api: Option<(String, &Mapping)> = None;
    let mut function_resources = Vec::new();
    for (key, resource) in resources {
        let id = string(key, "Resources")?;
        let location = format!("Resources.{id}");
        let resource = mapping(resource, &location)?;
        let kind = match resource.get("Type") {
            Some(kind) => string(kind, &format!("{location}.Type"))?,
            None => return Err(problem(&format!("{location}.Type"), "missing")),
        };
        match kind {
            "AWS::Serverless::Api" => {
                if let Some((first, _)) = &api {
                    return Err(problem(
                        &location,
                        format!(
                            "a second AWS::Serverless::Api (after {first}); the emulator serves one API"
                        ),
                    ));
                }
                api = Some((id.to_owned(), resource));
            }
            "AWS::Serverless::HttpApi" => {
                if let Some((first, _)) = &http_api {
                    return Err(problem(
                        &location,
                        format!(
                            "a second AWS::Serverless::HttpApi (after {first}); the emulator serves one"
                        ),
                    ));
                }
                http_api = Some((id.to_owned(), resource));
            }
            "AWS::Serverless::Function" => function_resources.push((id.to_owned(), resource)),
            _ => {}
        }
    }
    let (api_id, api_resource) =
        api.ok_or_else(|| problem("Resources", "no AWS::Serverless::Api resource"))?;
    let api = parse_api(&context, &api_id, api_resource)?;
    let http_api = match http_api {
        Some((id, resource)) => Some(parse_http_api(&context, &id, resource)?),
        None => None,
    };

    let mut functions = BTreeMap::new();
    for (id, resource) in function_resources {
        let function = parse_function(
            &context,
            &api,
            http_api.as_ref(),
            function_globals,
            &id,
            resource,
        )?;
        functions.insert(id, function);
    }
    let all_authorizers = api
        .authorizers
        .values()
        .map(|authorizer| (&api.logical_id, authorizer))
        .chain(http_api.iter().flat_map(|http| {
            http.authorizers
                .values()
                .map(move |authorizer| (&http.logical_id, authorizer))
        }));
    for (api_id, authorizer) in all_authorizers {
        if !functions.contains_key(&authorizer.function) {
            return Err(problem(
                &format!(
                    "Resources.{}.Properties.Auth.Authorizers.{}.FunctionArn",
                    api_id, authorizer.name
                ),
                format!(
                    "{} is not an AWS::Serverless::Function of this template",
                    authorizer.function
                ),
            ));
        }
    }
    let template = Template {
        parameters,
        api,
        http_api,
        functions,
    };
    validate_routes(&template)?;
    Ok(template)
}

fn parse_parameters(
    root: &Mapping,
    overrides: &ParameterOverrides,
) -> Parsed<BTreeMap<String, Parameter>> {
    let parameters = parse_parameter_section(root, overrides)?;
    if let Some(name) = overrides.undeclared(&parameters).next() {
        return Err(problem(
            "Parameters",
            format!("{name} is overridden but not a parameter of this template"),
        ));
    }
    Ok(parameters)
}

fn parse_parameter_section(
    root: &Mapping,
    overrides: &ParameterOverrides,
) -> Parsed<BTreeMap<String, Parameter>> {
    let mut parameters = BTreeMap::new();
    let Some(map) = optional_mapping(root, "Parameters", "")? else {
        return Ok(parameters);
    };
    for (key, value) in map {
        let name = string(key, "Parameters")?;
        let location = format!("Parameters.{name}");
        let definition = mapping(value, &location)?;
        let kind = match definition.get("Type") {
            Some(kind) => string(kind, &format!("{location}.Type"))?.to_owned(),
            None => return Err(problem(&format!("{location}.Type"), "missing")),
        };
        let default = match definition.get("Default") {
            None => None,
            Some(value) => Some(scalar_text(value).ok_or_else(|| {
                problem(
                    &format!("{location}.Default"),
                    "expected a string, number or boolean",
                )
            })?),
        };
        let value = overrides
            .get(name)
            .map(str::to_owned)
            .or_else(|| default.clone());
        parameters.insert(
            name.to_owned(),
            Parameter {
                kind,
                default,
                value,
            },
        );
    }
    Ok(parameters)
}

fn parse_api(context: &Context, id: &str, resource: &Mapping) -> Parsed<Api> {
    let location = format!("Resources.{id}.Properties");
    let properties = match resource.get("Properties") {
        Some(properties) => mapping(properties, &location)?,
        None => return Err(problem(&location, "missing")),
    };
    for key in ["DefinitionBody", "DefinitionUri", "Cors"] {
        if properties.contains_key(key) {
            return Err(problem(
                &format!("{location}.{key}"),
                "not supported by the gateway emulator (routes come from the functions' Api events)",
            ));
        }
    }
    let stage_location = format!("{location}.StageName");
    let stage_name = match properties.get("StageName") {
        Some(value) => context.scalar(value, &stage_location)?,
        None => return Err(problem(&stage_location, "missing")),
    };
    if stage_name.is_empty()
        || !stage_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(problem(
            &stage_location,
            format!("{stage_name:?} is not a stage name (letters, digits, - and _)"),
        ));
    }

    let mut default_authorizer = None;
    let mut authorizers = BTreeMap::new();
    if let Some(auth) = optional_mapping(properties, "Auth", &location)? {
        let auth_location = format!("{location}.Auth");
        if let Some(value) = auth.get("DefaultAuthorizer") {
            let name = string(value, &format!("{auth_location}.DefaultAuthorizer"))?;
            if name == "AWS_IAM" {
                return Err(problem(
                    &format!("{auth_location}.DefaultAuthorizer"),
                    "AWS_IAM authorization is not supported by the gateway emulator",
                ));
            }
            default_authorizer = Some(name.to_owned());
        }
        if auth.get("ApiKeyRequired") == Some(&Value::Bool(true)) {
            return Err(problem(
                &format!("{auth_location}.ApiKeyRequired"),
                "API Gateway API keys are not supported by the gateway emulator",
            ));
        }
        if let Some(map) = optional_mapping(auth, "Authorizers", &auth_location)? {
            for (key, value) in map {
                let name = string(key, &format!("{auth_location}.Authorizers"))?;
                let authorizer = parse_authorizer(
                    context,
                    name,
                    value,
                    &format!("{auth_location}.Authorizers.{name}"),
                )?;
                authorizers.insert(name.to_owned(), authorizer);
            }
        }
        if let Some(name) = &default_authorizer
            && !authorizers.contains_key(name)
        {
            return Err(problem(
                &format!("{auth_location}.DefaultAuthorizer"),
                format!("{name} is not one of Auth.Authorizers"),
            ));
        }
    }

    let mut gateway_responses = BTreeMap::new();
    if let Some(map) = optional_mapping(properties, "GatewayResponses", &location)? {
        for (key, value) in map {
            let name = string(key, &format!("{location}.GatewayResponses"))?;
            let entry_location = format!("{location}.GatewayResponses.{name}");
            let kind = ResponseType::parse(name).ok_or_else(|| {
                problem(&entry_location, "not an API Gateway gateway response type")
            })?;
            gateway_responses.insert(
                kind,
                parse_gateway_response(context, value, &entry_location)?,
            );
        }
    }

    Ok(Api {
        logical_id: id.to_owned(),
        stage_name,
        default_authorizer,
        authorizers,
        gateway_responses,
    })
}

fn parse_authorizer(
    context: &Context,
    name: &str,
    value: &Value,
    location: &str,
) -> Parsed<Authorizer> {
    let definition = mapping(value, location)?;
    if definition.contains_key("UserPoolArn") {
        return Err(problem(
            location,
            "Cognito authorizers are not supported by the gateway emulator",
        ));
    }
    let function = match definition.get("FunctionArn") {
        Some(value) => get_att_arn(value, &format!("{location}.FunctionArn"))?,
        None => return Err(problem(&format!("{location}.FunctionArn"), "missing")),
    };
    let payload = match definition.get("FunctionPayloadType") {
        Some(value) => string(value, &format!("{location}.FunctionPayloadType"))?,
        None => "TOKEN",
    };
    if payload != "REQUEST" {
        return Err(problem(
            &format!("{location}.FunctionPayloadType"),
            format!("{payload} authorizers are not supported by the gateway emulator; use REQUEST"),
        ));
    }
    let mut identity_sources = Vec::new();
    let mut reauthorize_every = DEFAULT_REAUTHORIZE_EVERY_SECS;
    let identity_location = format!("{location}.Identity");
    if let Some(identity) = optional_mapping(definition, "Identity", location)? {
        for key in ["StageVariables", "Context"] {
            if identity.contains_key(key) {
                return Err(problem(
                    &format!("{identity_location}.{key}"),
                    "identity sources other than headers and query strings are not supported by the gateway emulator",
                ));
            }
        }
        if let Some(value) = identity.get("Headers") {
            for name in string_list(value, &format!("{identity_location}.Headers"))? {
                identity_sources.push(IdentitySource::Header(name));
            }
        }
        if let Some(value) = identity.get("QueryStrings") {
            for name in string_list(value, &format!("{identity_location}.QueryStrings"))? {
                identity_sources.push(IdentitySource::QueryString(name));
            }
        }
        if let Some(value) = identity.get("ReauthorizeEvery") {
            reauthorize_every = context.seconds(
                value,
                &format!("{identity_location}.ReauthorizeEvery"),
                MAX_REAUTHORIZE_EVERY_SECS,
            )?;
        }
    }
    if identity_sources.is_empty() && reauthorize_every > 0 {
        return Err(problem(
            &identity_location,
            "a cached REQUEST authorizer needs at least one identity source (Headers or QueryStrings)",
        ));
    }
    Ok(Authorizer {
        name: name.to_owned(),
        function,
        identity_sources,
        reauthorize_every: Duration::from_secs(reauthorize_every),
    })
}

fn parse_gateway_response(
    context: &Context,
    value: &Value,
    location: &str,
) -> Parsed<GatewayResponse> {
    let definition = mapping(value, location)?;
    let mut response = GatewayResponse::default();
    if let Some(value) = definition.get("StatusCode") {
        let status_location = format!("{location}.StatusCode");
        let text = context.scalar(value, &status_location)?;
        let status: u16 = text
            .trim()
            .parse()
            .map_err(|_| problem(&status_location, format!("{text:?} is not a status code")))?;
        if !(100..=599).contains(&status) {
            return Err(problem(
                &status_location,
                format!("{status} is not a status code"),
            ));
        }
        response.status_code = Some(status);
    }
    if let Some(parameters) = optional_mapping(definition, "ResponseParameters", location)? {
        let parameters_location = format!("{location}.ResponseParameters");
        for key in ["Paths", "QueryStrings"] {
            if parameters.contains_key(key) {
                return Err(problem(
                    &format!("{parameters_location}.{key}"),
                    "not supported by the gateway emulator (only Headers)",
                ));
            }
        }
        if let Some(headers) = optional_mapping(parameters, "Headers", &parameters_location)? {
            for (key, value) in headers {
                let name = string(key, &format!("{parameters_location}.Headers"))?;
                let header_location = format!("{parameters_location}.Headers.{name}");
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(problem(&header_location, "not a valid header name"));
                }
                let Some(text) = Resolver::new(context).value(value, &header_location)? else {
                    continue; // `!Ref AWS::NoValue`: no such header.
                };
                let mapping = header_mapping(&text)
                    .ok_or_else(|| {
                        problem(
                            &header_location,
                            "expected a quoted static value like \"'text'\" or method.request.{header,querystring,path}.<name>",
                        )
                    })?;
                if let HeaderMapping::Static(text) = &mapping
                    && http::HeaderValue::from_str(text).is_err()
                {
                    return Err(problem(&header_location, "not a valid header value"));
                }
                response.headers.push((name.to_owned(), mapping));
            }
        }
    }
    if let Some(templates) = optional_mapping(definition, "ResponseTemplates", location)? {
        for (key, value) in templates {
            let content_type = string(key, &format!("{location}.ResponseTemplates"))?;
            let text = string(
                value,
                &format!("{location}.ResponseTemplates.{content_type}"),
            )?;
            response
                .templates
                .insert(content_type.to_owned(), text.to_owned());
        }
    }
    Ok(response)
}

/// A CloudFormation intrinsic function call, if `value` is one: its long name (`Fn::If`, `Ref`,
/// `Condition`) and its argument. `!If x` and `{Fn::If: x}` are the same call.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.strip_prefix('!').unwrap_or(&tag);
            let long = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ => format!("Fn::{name}"),
            };
            Some((long, &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                .then(|| (key.to_owned(), argument))
        }
        _ => None,
    }
}

/// The `N` arguments of intrinsic `name`, which must be a list of exactly that many.
fn arguments<'a, const N: usize>(
    argument: &'a Value,
    name: &str,
    location: &str,
) -> Parsed<[&'a Value; N]> {
    let wrong = || {
        problem(
            location,
            format!(
                "{name} takes a list of {N} argument{}",
                if N == 1 { "" } else { "s" }
            ),
        )
    };
    match argument {
        Value::Sequence(items) => {
            let refs: Vec<&Value> = items.iter().collect();
            <[&Value; N]>::try_from(refs).map_err(|_| wrong())
        }
        _ => Err(wrong()),
    }
}

/// How far a condition's evaluation has got.
#[derive(Clone, Copy)]
enum Evaluation {
    /// Being evaluated: meeting it again is a cycle.
    Pending,
    Done(bool),
}

/// How many conditions deep `!Condition` may refer (a bound on the resolver's recursion).
const MAX_CONDITION_DEPTH: usize = 64;

/// Resolves the intrinsics of one value ([`Resolver::value`]) and the conditions it needs.
struct Resolver<'a> {
    context: &'a Context<'a>,
    conditions: BTreeMap<String, Evaluation>,
    /// How many named conditions are being evaluated.
    depth: usize,
}

impl<'a> Resolver<'a> {
    fn new(context: &'a Context<'a>) -> Self {
        Self {
            context,
            conditions: BTreeMap::new(),
            depth: 0,
        }
    }

    /// A value written literally or with `!If`, `!Sub` or `!Ref`, as text; `None` for
    /// `!Ref AWS::NoValue` (the property is left out).
    fn value(&mut self, value: &Value, location: &str) -> Parsed<Option<String>> {
        let Some((name, argument)) = intrinsic(value) else {
            return scalar_text(value).map(Some).ok_or_else(|| {
                problem(
                    location,
                    "expected a string, !If [Condition, a, b], !Sub \"...\" or !Ref <parameter>",
                )
            });
        };
        let inner = format!("{location}.{name}");
        match name.as_str() {
            "Fn::If" => {
                let [condition, then, otherwise] = arguments::<3>(argument, &name, &inner)?;
                let condition_location = format!("{inner}[0]");
                let condition = string(condition, &condition_location).map_err(|_| {
                    problem(&condition_location, "expected the name of a condition")
                })?;
                if self.condition_named(condition, &condition_location)? {
                    self.value(then, &format!("{inner}[1]"))
                } else {
                    self.value(otherwise, &format!("{inner}[2]"))
                }
            }
            "Ref" => self.reference(argument, &inner),
            "Fn::Sub" => self.substitute(argument, &inner).map(Some),
            _ => Err(unsupported(&name, location, "!If, !Sub and !Ref")),
        }
    }

    /// `!Ref` of a parameter or pseudo parameter; `None` for `AWS::NoValue`.
    fn reference(&self, argument: &Value, location: &str) -> Parsed<Option<String>> {
        let name = string(argument, location)
            .map_err(|_| problem(location, "expected the name of a parameter"))?;
        if name == NO_VALUE {
            return Ok(None);
        }
        self.name(name, &format!("!Ref {name}"), location).map(Some)
    }

    /// The value of a parameter or pseudo parameter named in `reference` at `location`.
    fn name(&self, name: &str, reference: &str, location: &str) -> Parsed<String> {
        if let Some(pseudo) = name.strip_prefix("AWS::") {
            return PSEUDO_PARAMETERS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, value)| (*value).to_owned())
                .ok_or_else(|| {
                    problem(
                        location,
                        format!(
                            "{reference}: the pseudo parameter AWS::{pseudo} has no local value \
                             (the emulator resolves {})",
                            PSEUDO_PARAMETERS.map(|(known, _)| known).join(", ")
                        ),
                    )
                });
        }
        self.context.parameter(name, reference, location)
    }

    /// `!Sub "text"` or `!Sub [text, {Name: value, ...}]`.
    fn substitute(&mut self, argument: &Value, location: &str) -> Parsed<String> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Sequence(_) => {
                let [text, variables] = arguments::<2>(argument, "Fn::Sub", location)?;
                (
                    string(text, &format!("{location}[0]"))?,
                    Some(mapping(variables, &format!("{location}[1]"))?),
                )
            }
            _ => {
                return Err(problem(
                    location,
                    "expected a string or a list of a string and a mapping of variables",
                ));
            }
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("${") {
            out.push_str(before);
            if let Some(literal) = after.strip_prefix('!') {
                // `${!Literal}` is the text `${Literal}`.
                out.push_str("${");
                rest = literal;
                continue;
            }
            let (name, remainder) = after.split_once('}').ok_or_else(|| {
                problem(
                    location,
                    format!("unterminated ${{ in {text:?} (no closing }})"),
                )
            })?;
            out.push_str(&self.variable(name, variables, location)?);
            rest = remainder;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of `${name}` in a `!Sub`.
    fn variable(
        &mut self,
        name: &str,
        variables: Option<&Mapping>,
        location: &str,
    ) -> Parsed<String> {
        let reference = format!("${{{name}}}");
        if let Some(value) = variables.and_then(|variables| variables.get(name)) {
            let variable_location = format!("{location}[1].{name}");
            return self.value(value, &variable_location)?.ok_or_else(|| {
                problem(
                    &variable_location,
                    format!("{NO_VALUE} cannot be substituted"),
                )
            });
        }
        if name == NO_VALUE {
            return Err(problem(
                location,
                format!("{reference}: {NO_VALUE} cannot be substituted"),
            ));
        }
        if name.contains('.') {
            return Err(problem(
                location,
                format!(
                    "{reference}: a resource attribute, which the emulator cannot resolve (only parameters and pseudo parameters)"
                ),
            ));
        }
        self.name(name, &reference, location)
    }

    /// An operand of `!Equals`: a literal, `!Ref` or `!Sub` (`!If` is not allowed in a condition).
    fn operand(&mut self, value: &Value, location: &str) -> Parsed<String> {
        if let Some((name, _)) = intrinsic(value)
            && !matches!(name.as_str(), "Ref" | "Fn::Sub")
        {
            return Err(unsupported(&name, location, "!Ref and !Sub"));
        }
        self.value(value, location)?
            .ok_or_else(|| problem(location, format!("{NO_VALUE} cannot be compared")))
    }

    /// The condition `name` of the `Conditions` section, named at `location`.
    fn condition_named(&mut self, name: &str, location: &str) -> Parsed<bool> {
        match self.conditions.get(name) {
            Some(Evaluation::Done(result)) => return Ok(*result),
            Some(Evaluation::Pending) => {
                return Err(problem(
                    location,
                    format!("condition {name} depends on itself"),
                ));
            }
            None => {}
        }
        let definition = self
            .context
            .conditions
            .and_then(|conditions| conditions.get(name))
            .ok_or_else(|| {
                problem(
                    location,
                    format!("{name} is not a condition of this template's Conditions"),
                )
            })?;
        if self.depth >= MAX_CONDITION_DEPTH {
            return Err(problem(
                location,
                format!("conditions refer to conditions more than {MAX_CONDITION_DEPTH} deep"),
            ));
        }
        self.conditions.insert(name.to_owned(), Evaluation::Pending);
        self.depth += 1;
        let result = self.condition(definition, &format!("Conditions.{name}"))?;
        self.depth -= 1;
        self.conditions
            .insert(name.to_owned(), Evaluation::Done(result));
        Ok(result)
    }

    /// A condition function: `!Equals`, `!Not`, `!And`, `!Or` or `!Condition`.
    fn condition(&mut self, value: &Value, location: &str) -> Parsed<bool> {
        const SUPPORTED: &str = "!Equals, !Not, !And, !Or and !Condition";
        let Some((name, argument)) = intrinsic(value) else {
            return Err(problem(
                location,
                format!("expected a condition function ({SUPPORTED})"),
            ));
        };
        let inner = format!("{location}.{name}");
        match name.as_str() {
            "Fn::Equals" => {
                let [left, right] = arguments::<2>(argument, &name, &inner)?;
                let left = self.operand(left, &format!("{inner}[0]"))?;
                let right = self.operand(right, &format!("{inner}[1]"))?;
                Ok(left == right)
            }
            "Fn::Not" => {
                let [condition] = arguments::<1>(argument, &name, &inner)?;
                Ok(!self.condition(condition, &format!("{inner}[0]"))?)
            }
            "Fn::And" | "Fn::Or" => {
                let conditions = match argument {
                    Value::Sequence(items) if (2..=10).contains(&items.len()) => items,
                    _ => {
                        return Err(problem(
                            &inner,
                            format!("{name} takes a list of 2 to 10 conditions"),
                        ));
                    }
                };
                // Every operand is evaluated (and so checked), as CloudFormation does.
                let mut results = Vec::with_capacity(conditions.len());
                for (i, condition) in conditions.iter().enumerate() {
                    results.push(self.condition(condition, &format!("{inner}[{i}]"))?);
                }
                Ok(if name == "Fn::And" {
                    results.iter().all(|result| *result)
                } else {
                    results.iter().any(|result| *result)
                })
            }
            "Condition" => {
                let target = string(argument, &inner)
                    .map_err(|_| problem(&inner, "expected the name of a condition"))?;
                self.condition_named(target, &inner)
            }
            _ => Err(unsupported(&name, location, SUPPORTED)),
        }
    }
}

/// The error for intrinsic `name` where only `supported` are resolved.
fn unsupported(name: &str, location: &str, supported: &str) -> Problem {
    problem(
        location,
        format!("{name} is not supported by the gateway emulator here (it resolves {supported})"),
    )
}

fn header_mapping(value: &str) -> Option<HeaderMapping> {
    if let Some(inner) = value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return Some(HeaderMapping::Static(inner.to_owned()));
    }
    let nonempty = |name: &str| (!name.is_empty()).then(|| name.to_owned());
    if let Some(name) = value.strip_prefix("method.request.header.") {
        return nonempty(name).map(HeaderMapping::RequestHeader);
    }
    if let Some(name) = value.strip_prefix("method.request.querystring.") {
        return nonempty(name).map(HeaderMapping::RequestQueryString);
    }
    if let Some(name) = value.strip_prefix("method.request.path.") {
        return nonempty(name).map(HeaderMapping::RequestPath);
    }
    None
}

fn normalize_code_uri(uri: &str) -> String {
    let trimmed = uri.trim();
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    trimmed.trim_end_matches('/').to_owned()
}

fn parse_function(
    context: &Context,
    api: &Api,
    http_api: Option<&HttpApi>,
    globals: Option<&Mapping>,
    id: &str,
    resource: &Mapping,
) -> Parsed<Function> {
    let location = format!("Resources.{id}.Properties");
    let properties = match resource.get("Properties") {
        Some(properties) => mapping(properties, &location)?,
        None => return Err(problem(&location, "missing")),
    };
    let global = |key: &str| globals.and_then(|globals| globals.get(key));
    let code_uri = match (properties.get("CodeUri"), global("CodeUri")) {
        (Some(value), _) => string(value, &format!("{location}.CodeUri")).map_err(|_| {
            problem(
                &format!("{location}.CodeUri"),
                "expected a local path such as functions/me",
            )
        })?,
        (None, Some(value)) => string(value, "Globals.Function.CodeUri")?,
        (None, None) => return Err(problem(&format!("{location}.CodeUri"), "missing")),
    };
    let code_uri = normalize_code_uri(code_uri);
    if code_uri.is_empty() {
        return Err(problem(&format!("{location}.CodeUri"), "empty"));
    }
    let timeout = match (properties.get("Timeout"), global("Timeout")) {
        (Some(value), _) => context.seconds(value, &format!("{location}.Timeout"), 900)?,
        (None, Some(value)) => context.seconds(value, "Globals.Function.Timeout", 900)?,
        (None, None) => DEFAULT_FUNCTION_TIMEOUT_SECS,
    };
    if timeout == 0 {
        return Err(problem(
            &format!("{location}.Timeout"),
            "must be at least 1 second",
        ));
    }

    let binary = match resource
        .get("Metadata")
        .and_then(|metadata| metadata.get("BuildProperties"))
        .and_then(|properties| properties.get("Binary"))
    {
        Some(value) => Some(
            string(
                value,
                &format!("Resources.{id}.Metadata.BuildProperties.Binary"),
            )?
            .to_owned(),
        ),
        None => None,
    };

    let mut routes = Vec::new();
    let mut http_routes = Vec::new();
    if let Some(events) = optional_mapping(properties, "Events", &location)? {
        for (key, value) in events {
            let event = string(key, &format!("{location}.Events"))?;
            let event_location = format!("{location}.Events.{event}");
            let definition = mapping(value, &event_location)?;
            let kind = match definition.get("Type") {
                Some(kind) => string(kind, &format!("{event_location}.Type"))?,
                None => return Err(problem(&format!("{event_location}.Type"), "missing")),
            };
            match kind {
                "Api" => routes.push(parse_api_event(api, event, definition, &event_location)?),
                "HttpApi" => {
                    let Some(http_api) = http_api else {
                        return Err(problem(
                            &event_location,
                            "an HttpApi event needs the template's AWS::Serverless::HttpApi \
                             (SAM would create an implicit one)",
                        ));
                    };
                    http_routes.push(parse_http_api_event(
                        http_api,
                        event,
                        definition,
                        &event_location,
                    )?);
                }
                _ => {}
            }
        }
    }
    Ok(Function {
        logical_id: id.to_owned(),
        code_uri,
        binary,
        timeout: Duration::from_secs(timeout),
        routes,
        http_routes,
    })
}

/// The API an event attaches to, as [`parse_route_event`] checks it.
struct EventTarget<'a> {
    /// `RestApiId` (an `Api` event) or `ApiId` (an `HttpApi` event).
    id_field: &'static str,
    logical_id: &'a str,
    default_authorizer: Option<&'a String>,
    authorizers: Vec<&'a String>,
}

fn parse_api_event(api: &Api, event: &str, definition: &Mapping, location: &str) -> Parsed<Route> {
    let target = EventTarget {
        id_field: "RestApiId",
        logical_id: &api.logical_id,
        default_authorizer: api.default_authorizer.as_ref(),
        authorizers: api.authorizers.keys().collect(),
    };
    parse_route_event(&target, event, definition, location)
}

fn parse_http_api_event(
    api: &HttpApi,
    event: &str,
    definition: &Mapping,
    location: &str,
) -> Parsed<Route> {
    let target = EventTarget {
        id_field: "ApiId",
        logical_id: &api.logical_id,
        default_authorizer: api.default_authorizer.as_ref(),
        authorizers: api.authorizers.keys().collect(),
    };
    parse_route_event(&target, event, definition, location)
}

fn parse_route_event(
    api: &EventTarget,
    event: &str,
    definition: &Mapping,
    location: &str,
) -> Parsed<Route> {
    let properties_location = format!("{location}.Properties");
    let properties = match definition.get("Properties") {
        Some(properties) => mapping(properties, &properties_location)?,
        None => return Err(problem(&properties_location, "missing")),
    };
    let id_location = format!("{properties_location}.{}", api.id_field);
    match properties.get(api.id_field).map(ref_target) {
        Some(Some(target)) if target == api.logical_id => {}
        Some(_) => {
            return Err(problem(
                &id_location,
                format!(
                    "expected !Ref {} (the emulator serves that API only)",
                    api.logical_id
                ),
            ));
        }
        None => {
            return Err(problem(
                &id_location,
                format!(
                    "missing: SAM would create an implicit API; set {}: !Ref {}",
                    api.id_field, api.logical_id
                ),
            ));
        }
    }
    let path = match properties.get("Path") {
        Some(value) => string(value, &format!("{properties_location}.Path"))?,
        None => return Err(problem(&format!("{properties_location}.Path"), "missing")),
    };
    let method_location = format!("{properties_location}.Method");
    let method = match properties.get("Method") {
        Some(value) => string(value, &method_location)?.to_ascii_uppercase(),
        None => return Err(problem(&method_location, "missing")),
    };
    if !METHODS.contains(&method.as_str()) {
        return Err(problem(
            &method_location,
            format!("{method} is not one of {}", METHODS.join(", ")),
        ));
    }
    let mut authorizer = api.default_authorizer.cloned();
    if let Some(auth) = optional_mapping(properties, "Auth", &properties_location)? {
        let auth_location = format!("{properties_location}.Auth");
        if auth.get("ApiKeyRequired") == Some(&Value::Bool(true)) {
            return Err(problem(
                &format!("{auth_location}.ApiKeyRequired"),
                "API Gateway API keys are not supported by the gateway emulator",
            ));
        }
        if let Some(value) = auth.get("Authorizer") {
            let name_location = format!("{auth_location}.Authorizer");
            let name = string(value, &name_location)?;
            authorizer = match name {
                "NONE" => None,
                "AWS_IAM" => {
                    return Err(problem(
                        &name_location,
                        "AWS_IAM authorization is not supported by the gateway emulator",
                    ));
                }
                other if api.authorizers.iter().any(|known| *known == other) => {
                    Some(other.to_owned())
                }
                other => {
                    return Err(problem(
                        &name_location,
                        format!("{other} is not NONE nor one of the API's Auth.Authorizers"),
                    ));
                }
            };
        }
    }
    Ok(Route {
        event: event.to_owned(),
        path: path.to_owned(),
        method,
        authorizer,
    })
}

fn parse_http_api(context: &Context, id: &str, resource: &Mapping) -> Parsed<HttpApi> {
    let location = format!("Resources.{id}.Properties");
    let empty = Mapping::new();
    let properties = match resource.get("Properties") {
        Some(properties) => mapping(properties, &location)?,
        None => &empty,
    };
    for key in ["DefinitionBody", "DefinitionUri", "CorsConfiguration"] {
        if properties.contains_key(key) {
            return Err(problem(
                &format!("{location}.{key}"),
                "not supported by the gateway emulator (routes come from the functions' HttpApi events)",
            ));
        }
    }
    if let Some(value) = properties.get("StageName") {
        let stage = context.scalar(value, &format!("{location}.StageName"))?;
        if stage != "$default" {
            return Err(problem(
                &format!("{location}.StageName"),
                "the gateway emulator serves the $default stage only",
            ));
        }
    }
    let mut default_authorizer = None;
    let mut authorizers = BTreeMap::new();
    if let Some(auth) = optional_mapping(properties, "Auth", &location)? {
        let auth_location = format!("{location}.Auth");
        if let Some(value) = auth.get("DefaultAuthorizer") {
            default_authorizer =
                Some(string(value, &format!("{auth_location}.DefaultAuthorizer"))?.to_owned());
        }
        if let Some(map) = optional_mapping(auth, "Authorizers", &auth_location)? {
            for (key, value) in map {
                let name = string(key, &format!("{auth_location}.Authorizers"))?;
                let authorizer = parse_http_authorizer(
                    context,
                    name,
                    value,
                    &format!("{auth_location}.Authorizers.{name}"),
                )?;
                authorizers.insert(name.to_owned(), authorizer);
            }
        }
        if let Some(name) = &default_authorizer
            && !authorizers.contains_key(name)
        {
            return Err(problem(
                &format!("{auth_location}.DefaultAuthorizer"),
                format!("{name} is not one of Auth.Authorizers"),
            ));
        }
    }
    Ok(HttpApi {
        logical_id: id.to_owned(),
        default_authorizer,
        authorizers,
    })
}

/// An HTTP API Lambda authorizer: payload format 2.0 with simple responses is what the emulator runs
/// (and what Gatehouse deploys).
fn parse_http_authorizer(
    context: &Context,
    name: &str,
    value: &Value,
    location: &str,
) -> Parsed<Authorizer> {
    let definition = mapping(value, location)?;
    if definition.contains_key("JwtConfiguration") {
        return Err(problem(
            location,
            "JWT authorizers are not supported by the gateway emulator",
        ));
    }
    let function = match definition.get("FunctionArn") {
        Some(value) => get_att_arn(value, &format!("{location}.FunctionArn"))?,
        None => return Err(problem(&format!("{location}.FunctionArn"), "missing")),
    };
    let version_location = format!("{location}.AuthorizerPayloadFormatVersion");
    match definition.get("AuthorizerPayloadFormatVersion") {
        Some(value) if context.scalar(value, &version_location)? == "2.0" => {}
        _ => {
            return Err(problem(
                &version_location,
                "the gateway emulator runs HTTP API authorizers with payload format \"2.0\" only",
            ));
        }
    }
    if definition.get("EnableSimpleResponses") != Some(&Value::Bool(true)) {
        return Err(problem(
            &format!("{location}.EnableSimpleResponses"),
            "the gateway emulator runs HTTP API authorizers with simple responses (true) only",
        ));
    }
    let mut identity_sources = Vec::new();
    let mut reauthorize_every = 0;
    let identity_location = format!("{location}.Identity");
    if let Some(identity) = optional_mapping(definition, "Identity", location)? {
        for key in ["StageVariables", "Context"] {
            if identity.contains_key(key) {
                return Err(problem(
                    &format!("{identity_location}.{key}"),
                    "identity sources other than headers and query strings are not supported by the gateway emulator",
                ));
            }
        }
        if let Some(value) = identity.get("Headers") {
            for name in string_list(value, &format!("{identity_location}.Headers"))? {
                identity_sources.push(IdentitySource::Header(name));
            }
        }
        if let Some(value) = identity.get("QueryStrings") {
            for name in string_list(value, &format!("{identity_location}.QueryStrings"))? {
                identity_sources.push(IdentitySource::QueryString(name));
            }
        }
        if let Some(value) = identity.get("ReauthorizeEvery") {
            reauthorize_every = context.seconds(
                value,
                &format!("{identity_location}.ReauthorizeEvery"),
                MAX_REAUTHORIZE_EVERY_SECS,
            )?;
        }
    }
    if identity_sources.is_empty() && reauthorize_every > 0 {
        return Err(problem(
            &identity_location,
            "a cached authorizer needs at least one identity source (Headers or QueryStrings)",
        ));
    }
    Ok(Authorizer {
        name: name.to_owned(),
        function,
        identity_sources,
        reauthorize_every: Duration::from_secs(reauthorize_every),
    })
}

fn validate_routes(template: &Template) -> Parsed<()> {
    let label = |(function, route): (&Function, &Route)| {
        (
            route.path.clone(),
            route.method.clone(),
            format!("{}.{}", function.logical_id, route.event),
        )
    };
    let rest: Vec<_> = template.routes().map(label).collect();
    let http: Vec<_> = template.http_routes().map(label).collect();
    for routes in [rest, http] {
        RouteTable::build(
            routes
                .iter()
                .map(|(path, method, label)| (path.as_str(), method.as_str(), label.clone())),
        )
        .map(drop)
        .map_err(|error| problem(&format!("Resources.{}", error.route()), error.to_string()))?;
    }
    Ok(())
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

    fn real_template() -> Template {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        Template::load(&path).unwrap()
    }

    #[test]
    fn reads_the_real_template() {
        let template = real_template();
        assert_eq!(template.api.logical_id, "GatehouseApi");
        assert_eq!(template.api.stage_name, "prod");
        assert_eq!(
            template.api.default_authorizer.as_deref(),
            Some("GatehouseAuthorizer")
        );
        let authorizer = &template.api.authorizers["GatehouseAuthorizer"];
        assert_eq!(authorizer.function, "AuthorizerFunction");
        assert_eq!(
            authorizer.identity_sources,
            vec![IdentitySource::Header("Authorization".into())]
        );
        assert_eq!(
            authorizer.identity_sources[0].expression(),
            "method.request.header.Authorization"
        );
        assert_eq!(authorizer.reauthorize_every, Duration::from_secs(60));
        assert_eq!(
            template.parameters["ReauthorizeEvery"].default.as_deref(),
            Some("60")
        );
        assert_eq!(template.parameters["ClerkIssuer"].default, None);

        let authorizer_function = &template.functions["AuthorizerFunction"];
        assert_eq!(authorizer_function.implementation(), "authorizer");
        assert_eq!(authorizer_function.timeout, Duration::from_secs(10));
        assert!(authorizer_function.routes.is_empty());
        assert!(authorizer_function.http_routes.is_empty());

        let health = &template.functions["HealthFunction"];
        assert_eq!(health.implementation(), "health");
        assert_eq!(health.routes.len(), 1);
        assert_eq!(
            (
                health.routes[0].path.as_str(),
                health.routes[0].method.as_str(),
                &health.routes[0].authorizer
            ),
            ("/health", "GET", &None)
        );
        let names = template.required_implementations();
        assert!(names.contains(&"authorizer".to_owned()));
        assert!(names.contains(&"health".to_owned()));

        // The HTTP API serves the same routes with the same authorization.
        let http = template
            .http_api
            .as_ref()
            .expect("an AWS::Serverless::HttpApi");
        let http_authorizer = &http.authorizers[http.default_authorizer.as_ref().unwrap()];
        assert_eq!(http_authorizer.function, "AuthorizerFunction");
        assert_eq!(
            http_authorizer.identity_sources,
            vec![IdentitySource::Header("Authorization".into())]
        );
        assert_eq!(http_authorizer.reauthorize_every, Duration::from_secs(60));
        let shape = |routes: Vec<(&Function, &Route)>| {
            let mut shape: Vec<_> = routes
                .into_iter()
                .map(|(function, route)| {
                    (
                        function.logical_id.clone(),
                        route.path.clone(),
                        route.method.clone(),
                        route.authorizer.is_some(),
                    )
                })
                .collect();
            shape.sort();
            shape
        };
        assert_eq!(
            shape(template.routes().collect()),
            shape(template.http_routes().collect())
        );
    }

    /// `GatehouseTable` in `template.yaml` is the table the store creates
    /// (`gatehouse::store::dynamo::TABLE`): same keys, same index, same attribute types.
    #[test]
    fn the_template_table_is_the_store_table() {
        use gatehouse::store::dynamo::TABLE;
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
                .unwrap();
        let root: Value = serde_norway::from_str(&text).unwrap();
        let table = &root["Resources"]["GatehouseTable"]["Properties"];
        let pairs = |value: &Value, name: &str, other: &str| -> Vec<(String, String)> {
            value
                .as_sequence()
                .unwrap()
                .iter()
                .map(|entry| {
                    (
                        entry[name].as_str().unwrap().to_owned(),
                        entry[other].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let mut attributes = pairs(
            &table["AttributeDefinitions"],
            "AttributeName",
            "AttributeType",
        );
        attributes.sort();
        let mut expected = owned(&[
            (TABLE.partition_key, "S"),
            (TABLE.sort_key, "S"),
            (TABLE.index_partition_key, "S"),
            (TABLE.index_sort_key, "S"),
        ]);
        expected.sort();
        assert_eq!(attributes, expected);
        assert_eq!(
            pairs(&table["KeySchema"], "AttributeName", "KeyType"),
            owned(&[(TABLE.partition_key, "HASH"), (TABLE.sort_key, "RANGE")])
        );
        let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0]["IndexName"].as_str(), Some(TABLE.index));
        assert_eq!(
            pairs(&indexes[0]["KeySchema"], "AttributeName", "KeyType"),
            owned(&[
                (TABLE.index_partition_key, "HASH"),
                (TABLE.index_sort_key, "RANGE")
            ])
        );
        assert_eq!(
            indexes[0]["Projection"]["ProjectionType"].as_str(),
            Some("ALL")
        );
        let ttl = &table["TimeToLiveSpecification"];
        assert_eq!(
            ttl["AttributeName"].as_str(),
            Some(TABLE.time_to_live_attribute)
        );
        assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    }

    #[test]
    fn reads_the_real_gateway_responses() {
        let template = real_template();
        let responses = &template.api.gateway_responses;
        let denied = &responses[&ResponseType::AccessDenied];
        assert_eq!(denied.status_code, Some(401));
        assert_eq!(
            denied.headers,
            vec![
                (
                    "WWW-Authenticate".to_owned(),
                    HeaderMapping::Static("Bearer".into())
                ),
                (
                    "Content-Type".to_owned(),
                    HeaderMapping::Static("application/json".into())
                ),
            ]
        );
        assert_eq!(
            denied.templates["application/json"],
            r#"{"error":"$context.authorizer.error","code":"$context.authorizer.code"}"#
        );
        assert_eq!(
            responses[&ResponseType::MissingAuthenticationToken].status_code,
            Some(404)
        );
        assert_eq!(responses[&ResponseType::Default4xx].status_code, None);
        assert!(responses.contains_key(&ResponseType::Default5xx));
        assert!(responses.contains_key(&ResponseType::AuthorizerFailure));
        assert!(responses.contains_key(&ResponseType::AuthorizerConfigurationError));
        assert!(responses.contains_key(&ResponseType::Unauthorized));
    }

    const SMALL: &str = r#"
Parameters:
  Stage: { Type: String, Default: dev }
  Ttl: { Type: Number, Default: 0 }
  NoDefault: { Type: String }
Globals:
  Function:
    Timeout: 7
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: { "Fn::GetAtt": [Auth, Arn] }
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization, X-Tenant]
              QueryStrings: [token]
              ReauthorizeEvery: !Ref Ttl
      GatewayResponses:
        DEFAULT_4XX:
          StatusCode: 418
          ResponseParameters:
            Headers:
              X-Echo: method.request.header.X-Request
  Auth:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./fns/auth/
  Items:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/items
      Timeout: 20
      Events:
        List:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /items, Method: get }
        One:
          Type: Api
          Properties:
            RestApiId: { Ref: Api }
            Path: /items/{id}
            Method: any
            Auth: { Authorizer: NONE }
        Tick:
          Type: Schedule
          Properties: { Schedule: rate(1 minute) }
  Table:
    Type: AWS::DynamoDB::Table
    Properties: { TableName: !Sub "${AWS::StackName}-t" }
"#;

    #[test]
    fn reads_a_small_template_with_long_and_short_forms() {
        let template = Template::parse(SMALL).unwrap();
        assert_eq!(template.api.stage_name, "dev");
        let authorizer = &template.api.authorizers["Lambda"];
        assert_eq!(authorizer.function, "Auth");
        assert_eq!(authorizer.reauthorize_every, Duration::ZERO);
        assert_eq!(
            authorizer.identity_sources,
            vec![
                IdentitySource::Header("Authorization".into()),
                IdentitySource::Header("X-Tenant".into()),
                IdentitySource::QueryString("token".into()),
            ]
        );
        let default4xx = &template.api.gateway_responses[&ResponseType::Default4xx];
        assert_eq!(default4xx.status_code, Some(418));
        assert_eq!(
            default4xx.headers,
            vec![(
                "X-Echo".to_owned(),
                HeaderMapping::RequestHeader("X-Request".into())
            )]
        );
        assert_eq!(template.functions["Auth"].code_uri, "fns/auth");
        assert_eq!(template.functions["Auth"].implementation(), "fns/auth");
        assert_eq!(template.functions["Auth"].timeout, Duration::from_secs(7));
        let items = &template.functions["Items"];
        assert_eq!(items.timeout, Duration::from_secs(20));
        assert_eq!(items.routes.len(), 2, "the Schedule event is not a route");
        assert_eq!(items.routes[0].method, "GET");
        assert_eq!(items.routes[0].authorizer.as_deref(), Some("Lambda"));
        assert_eq!(items.routes[1].method, "ANY");
        assert_eq!(items.routes[1].authorizer, None);
        assert_eq!(template.routes().count(), 2);
        assert_eq!(
            template.required_implementations(),
            vec!["fns/auth", "fns/items"]
        );
    }

    fn error_of(text: &str) -> String {
        Template::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_file_resource_and_field() {
        let unknown_function = SMALL.replace("[Auth, Arn]", "[Missing, Arn]");
        let message = error_of(&unknown_function);
        assert!(
            message
                .contains("template: Resources.Api.Properties.Auth.Authorizers.Lambda.FunctionArn")
                && message.contains("Missing"),
            "{message}"
        );

        let no_default = SMALL.replace("StageName: !Ref Stage", "StageName: !Ref NoDefault");
        let message = error_of(&no_default);
        assert!(
            message.contains("Resources.Api.Properties.StageName") && message.contains("NoDefault"),
            "{message}"
        );

        let token = SMALL.replace("FunctionPayloadType: REQUEST", "FunctionPayloadType: TOKEN");
        assert!(error_of(&token).contains("FunctionPayloadType: TOKEN authorizers"));

        let bad_method = SMALL.replace("Method: get", "Method: fetch");
        let message = error_of(&bad_method);
        assert!(
            message.contains("Resources.Items.Properties.Events.List.Properties.Method")
                && message.contains("FETCH"),
            "{message}"
        );

        let bad_authorizer = SMALL.replace("Authorizer: NONE", "Authorizer: Other");
        assert!(error_of(&bad_authorizer).contains("Events.One.Properties.Auth.Authorizer"));

        let other_api = SMALL.replace("RestApiId: !Ref Api,", "RestApiId: !Ref Elsewhere,");
        assert!(error_of(&other_api).contains("Events.List.Properties.RestApiId"));

        let bad_type = SMALL.replace("DEFAULT_4XX:", "DEFAULT_418:");
        assert!(error_of(&bad_type).contains("GatewayResponses.DEFAULT_418"));

        let unquoted = SMALL.replace("method.request.header.X-Request", "Bearer");
        assert!(error_of(&unquoted).contains("ResponseParameters.Headers.X-Echo"));

        let too_long = SMALL.replace("Default: 0", "Default: 4000");
        assert!(error_of(&too_long).contains("ReauthorizeEvery: 4000 is more than the maximum"));

        let duplicate = SMALL
            .replace("Path: /items/{id}", "Path: /items")
            .replace("Method: any", "Method: get");
        let message = error_of(&duplicate);
        assert!(
            message.contains("GET /items") && message.contains("Items.List"),
            "{message}"
        );

        let siblings = SMALL.replace(
            "Properties: { RestApiId: !Ref Api, Path: /items, Method: get }",
            "Properties: { RestApiId: !Ref Api, Path: \"/items/{name}/x\", Method: get }",
        );
        let message = error_of(&siblings);
        assert!(
            message.contains("{name}") && message.contains("{id}"),
            "{message}"
        );

        assert!(error_of("a: [").contains("template: not valid YAML"));
        assert!(error_of("Resources: {}").contains("no AWS::Serverless::Api"));
        let missing = Template::load("/nonexistent/template.yaml").unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/template.yaml"));
    }

    #[test]
    fn the_real_challenge_names_the_metadata_when_the_public_base_url_is_set() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let overrides = ParameterOverrides::new().set("PublicBaseUrl", "https://api.example.com");
        let template = Template::load_with(&path, &overrides).unwrap();
        assert_eq!(
            template.parameters["PublicBaseUrl"].value.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            template.parameters["PublicBaseUrl"].default.as_deref(),
            Some("")
        );
        let challenge = HeaderMapping::Static(
            r#"Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
                .into(),
        );
        for kind in [ResponseType::AccessDenied, ResponseType::Unauthorized] {
            let headers = &template.api.gateway_responses[&kind].headers;
            assert_eq!(
                headers[0],
                ("WWW-Authenticate".to_owned(), challenge.clone()),
                "{kind:?}"
            );
        }
        // Without the override (the default, empty): a bare challenge.
        let template = real_template();
        assert_eq!(
            template.api.gateway_responses[&ResponseType::Unauthorized].headers[0].1,
            HeaderMapping::Static("Bearer".into())
        );
    }

    /// [`SMALL`] with more parameters, a `Conditions` section, and `value` as the `X-Echo` header.
    fn with_header(value: &str) -> String {
        SMALL
            .replace(
                "  NoDefault: { Type: String }\n",
                r#"  NoDefault: { Type: String }
  BaseUrl: { Type: String, Default: "" }
  Mode: { Type: String, Default: strict }
  Quoted: { Type: String, Default: "'q'" }
  Hosts: { Type: CommaDelimitedList, Default: "a,b" }
Conditions:
  HasBaseUrl: !Not [!Equals [!Ref BaseUrl, ""]]
  Strict: { "Fn::Equals": [{ Ref: Mode }, strict] }
  Both: !And [!Condition HasBaseUrl, !Condition Strict]
  Either: !Or [{ Condition: HasBaseUrl }, !Equals [!Sub "${AWS::Region}", us-east-2]]
  Loop: !Not [!Condition Loop2]
  Loop2: !Condition Loop
  Unsupported: !Equals [!Select [0, !Ref Hosts], a]
  BadIf: !Equals [!If [Strict, a, b], a]
  Literal: true
  Lonely: !And [!Condition Strict]
"#,
            )
            .replace(
                "X-Echo: method.request.header.X-Request",
                &format!("X-Echo: {value}"),
            )
    }

    /// The `X-Echo` header of [`with_header`]`(value)` loaded with `overrides` (`None`: left out).
    fn echo(value: &str, overrides: &ParameterOverrides) -> Option<HeaderMapping> {
        let template =
            Template::parse_named_with(&with_header(value), "template", overrides).unwrap();
        let headers = &template.api.gateway_responses[&ResponseType::Default4xx].headers;
        assert!(headers.len() <= 1);
        headers.first().map(|(name, mapping)| {
            assert_eq!(name, "X-Echo");
            mapping.clone()
        })
    }

    /// The `X-Echo` header of a template text made by [`with_header`].
    fn echo_text(text: &str) -> Option<HeaderMapping> {
        let template = Template::parse(text).unwrap();
        let headers = &template.api.gateway_responses[&ResponseType::Default4xx].headers;
        headers.first().map(|(_, mapping)| mapping.clone())
    }

    fn static_value(text: &str) -> Option<HeaderMapping> {
        Some(HeaderMapping::Static(text.to_owned()))
    }

    #[test]
    fn header_values_resolve_if_sub_and_ref() {
        let defaults = ParameterOverrides::new();
        let base = ParameterOverrides::new().set("BaseUrl", "https://a.example");
        let challenge = r#"!If [HasBaseUrl, !Sub "'Bearer resource_metadata=\"${BaseUrl}/.well-known/oauth-protected-resource\"'", "'Bearer'"]"#;
        assert_eq!(echo(challenge, &defaults), static_value("Bearer"));
        assert_eq!(
            echo(challenge, &base),
            static_value(
                r#"Bearer resource_metadata="https://a.example/.well-known/oauth-protected-resource""#
            )
        );
        // The long forms.
        let long =
            r#"{ "Fn::If": [HasBaseUrl, { "Fn::Sub": "'${BaseUrl}/x'" }, { Ref: Quoted }] }"#;
        assert_eq!(echo(long, &defaults), static_value("q"));
        assert_eq!(echo(long, &base), static_value("https://a.example/x"));

        assert_eq!(
            echo(
                r#"!Sub "'${AWS::Region} ${AWS::AccountId} ${AWS::Partition} ${AWS::URLSuffix} ${!Literal} ${Mode}'""#,
                &defaults
            ),
            static_value("us-east-1 123456789012 aws amazonaws.com ${Literal} strict")
        );
        let variables = r#"!Sub ["'${Greeting}, ${Mode}'", { Greeting: !If [Strict, hello, hi] }]"#;
        assert_eq!(echo(variables, &defaults), static_value("hello, strict"));
        let lax = ParameterOverrides::new().set("Mode", "lax");
        assert_eq!(echo(variables, &lax), static_value("hi, lax"));
        assert_eq!(echo("!Ref Quoted", &defaults), static_value("q"));

        // !And, !Or, !Condition, nested !If.
        let nested = r#"!If [Both, "'both'", !If [Either, "'either'", "'neither'"]]"#;
        assert_eq!(echo(nested, &defaults), static_value("neither"));
        assert_eq!(echo(nested, &base), static_value("both"));
        let base_lax = base.clone().set("Mode", "lax");
        assert_eq!(echo(nested, &base_lax), static_value("either"));

        // !Ref AWS::NoValue leaves the header out; a resolved value may be a request mapping.
        let optional = r#"!If [HasBaseUrl, "'x'", !Ref AWS::NoValue]"#;
        assert_eq!(echo(optional, &defaults), None);
        assert_eq!(echo(optional, &base), static_value("x"));
        assert_eq!(
            echo(
                r#"!If [Strict, method.request.header.X-Request, "'no'"]"#,
                &defaults
            ),
            Some(HeaderMapping::RequestHeader("X-Request".into()))
        );
    }

    #[test]
    fn overrides_replace_defaults_everywhere_and_must_name_parameters() {
        let stage = ParameterOverrides::new().set("Stage", "test");
        let template = Template::parse_named_with(SMALL, "template", &stage).unwrap();
        assert_eq!(template.api.stage_name, "test");
        assert_eq!(template.parameters["Stage"].default.as_deref(), Some("dev"));
        assert_eq!(template.parameters["Stage"].value.as_deref(), Some("test"));
        // A parameter without a Default resolves once overridden.
        let named = ParameterOverrides::new().set("NoDefault", "given");
        let text = SMALL.replace("StageName: !Ref Stage", "StageName: !Ref NoDefault");
        let template = Template::parse_named_with(&text, "template", &named).unwrap();
        assert_eq!(template.api.stage_name, "given");

        let undeclared = ParameterOverrides::new().set("Nope", "x");
        let message = Template::parse_named_with(SMALL, "template", &undeclared)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "template: Parameters: Nope is overridden but not a parameter of this template"
        );
        let optional = ParameterOverrides::new().set_if_declared("Nope", "x");
        assert!(Template::parse_named_with(SMALL, "template", &optional).is_ok());
        // `set` after `set_if_declared` makes it required again.
        let required = optional.set("Nope", "y");
        assert!(Template::parse_named_with(SMALL, "template", &required).is_err());
    }

    #[test]
    fn the_pseudo_parameters_are_the_gateway_defaults() {
        let options = crate::gateway::GatewayOptions::default();
        let value = |name: &str| {
            PSEUDO_PARAMETERS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, value)| *value)
        };
        assert_eq!(value("AWS::Region"), Some(options.region.as_str()));
        assert_eq!(value("AWS::AccountId"), Some(options.account_id.as_str()));
    }

    #[test]
    fn unused_conditions_are_not_evaluated() {
        // `with_header` has a cycle, an unsupported function and a literal among its conditions.
        assert_eq!(
            echo("\"'plain'\"", &ParameterOverrides::new()),
            static_value("plain")
        );
    }

    #[test]
    fn intrinsic_errors_name_the_location() {
        let error = |value: &str| error_of(&with_header(value));
        let header = "template: Resources.Api.Properties.GatewayResponses.DEFAULT_4XX.ResponseParameters.Headers.X-Echo";
        let cases: [(&str, &str, &str); 19] = [
            (
                r#"!If [Missing, "'a'", "'b'"]"#,
                ".Fn::If[0]",
                "Missing is not a condition of this template's Conditions",
            ),
            (
                r#"!If [[Strict], "'a'", "'b'"]"#,
                ".Fn::If[0]",
                "expected the name of a condition",
            ),
            (
                r#"!If [HasBaseUrl, "'a'"]"#,
                ".Fn::If",
                "Fn::If takes a list of 3 arguments",
            ),
            (
                r#"!Join ["", ["'a'", "'b'"]]"#,
                "",
                "Fn::Join is not supported by the gateway emulator here (it resolves !If, !Sub and !Ref)",
            ),
            ("!GetAtt Items.Arn", "", "Fn::GetAtt is not supported"),
            ("{ a: b }", "", "expected a string, !If [Condition, a, b]"),
            (
                r#"!Sub "'${Items.Arn}'""#,
                ".Fn::Sub",
                "${Items.Arn}: a resource attribute",
            ),
            (
                r#"!Sub "'${AWS::StackName}'""#,
                ".Fn::Sub",
                "${AWS::StackName}: the pseudo parameter AWS::StackName has no local value",
            ),
            (
                r#"!Sub "'${Items}'""#,
                ".Fn::Sub",
                "${Items}: not a parameter of this template",
            ),
            (
                r#"!Sub "'${NoDefault}'""#,
                ".Fn::Sub",
                "${NoDefault}: the parameter has no Default",
            ),
            (r#"!Sub "'${BaseUrl'""#, ".Fn::Sub", "unterminated ${"),
            (
                r#"!Sub "'${AWS::NoValue}'""#,
                ".Fn::Sub",
                "AWS::NoValue cannot be substituted",
            ),
            (
                "!Ref Hosts",
                ".Ref",
                "!Ref Hosts: a CommaDelimitedList parameter, which the emulator cannot resolve to a string",
            ),
            (
                r#"!Sub "Bearer ${Mode}""#,
                "",
                "expected a quoted static value",
            ),
            (
                r#"!If [Loop, "'a'", "'b'"]"#,
                "",
                "Conditions.Loop2.Condition: condition Loop depends on itself",
            ),
            (
                r#"!If [Unsupported, "'a'", "'b'"]"#,
                "",
                "Conditions.Unsupported.Fn::Equals[0]: Fn::Select is not supported by the gateway emulator here (it resolves !Ref and !Sub)",
            ),
            (
                r#"!If [BadIf, "'a'", "'b'"]"#,
                "",
                "Conditions.BadIf.Fn::Equals[0]: Fn::If is not supported",
            ),
            (
                r#"!If [Literal, "'a'", "'b'"]"#,
                "",
                "Conditions.Literal: expected a condition function (!Equals, !Not, !And, !Or and !Condition)",
            ),
            (
                r#"!If [Lonely, "'a'", "'b'"]"#,
                "",
                "Conditions.Lonely.Fn::And: Fn::And takes a list of 2 to 10 conditions",
            ),
        ];
        for (value, suffix, expected) in cases {
            let message = error(value);
            let location = format!("{header}{suffix}");
            if expected.starts_with("Conditions.") {
                assert!(message.starts_with("template: "), "{value}: {message}");
            } else {
                assert!(
                    message.starts_with(&format!("{location}: ")),
                    "{value}: {message} (expected at {location})"
                );
            }
            assert!(message.contains(expected), "{value}: {message}");
        }
        // A long chain of conditions is refused, not a stack overflow.
        let chain: String = (0..100)
            .map(|i| format!("  C{i}: !Condition C{}\n", i + 1))
            .collect();
        let text = with_header(r#"!If [C0, "'a'", "'b'"]"#).replace(
            "Conditions:\n",
            &format!("Conditions:\n{chain}  C100: !Equals [a, a]\n"),
        );
        let message = error_of(&text);
        assert!(message.contains("more than 64 deep"), "{message}");
        let text = text.replace("!Condition C50", "!Equals [a, b]");
        assert_eq!(echo_text(&text), static_value("b"));

        // A resolved value is checked as a literal one is.
        let newline = ParameterOverrides::new().set("BaseUrl", "a\nb");
        let message = Template::parse_named_with(
            &with_header(r#"!Sub "'${BaseUrl}'""#),
            "template",
            &newline,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(message, format!("{header}: not a valid header value"));
    }

    #[test]
    fn uncached_authorizers_may_have_no_identity_source() {
        let text = SMALL.replace(
            "Headers: [Authorization, X-Tenant]\n              QueryStrings: [token]\n",
            "",
        );
        let template = Template::parse(&text).unwrap();
        assert!(
            template.api.authorizers["Lambda"]
                .identity_sources
                .is_empty()
        );
        let cached = text.replace("ReauthorizeEvery: !Ref Ttl", "ReauthorizeEvery: 30");
        assert!(error_of(&cached).contains("needs at least one identity source"));
    }
}
