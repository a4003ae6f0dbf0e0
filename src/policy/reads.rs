//! What a policy can observe of its input, found statically from regorus' syntax tree
//! (decision 0017). The memo keys a decision on exactly these observations, so whatever
//! this module cannot bound turns the memo off instead of guessing.

use regorus::Value;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// Builtins whose answer is not a function of their arguments: a policy calling one must be
/// evaluated every time.
const NON_DETERMINISTIC: [&str; 7] = [
    "time.now_ns",
    "opa.runtime",
    "io.jwt.decode_verify",
    "crypto.x509.parse_and_verify_certificates",
    "crypto.x509.parse_and_verify_certificates_with_options",
    "trace",
    "print",
];
const NON_DETERMINISTIC_PREFIXES: [&str; 4] = ["rand.", "uuid.", "http.", "net."];

/// Builtins whose answer depends only on the type of their one argument.
const TYPE_TESTS: [&str; 8] = [
    "is_string",
    "is_number",
    "is_boolean",
    "is_array",
    "is_set",
    "is_object",
    "is_null",
    "type_name",
];

/// How the policy uses one `input` path everywhere it appears.
#[derive(Debug, Clone, PartialEq)]
pub enum Usage {
    /// Only its type is tested (`is_string(input.x)`).
    Kind,
    /// Only its type is tested and it is compared with these constants (literals or
    /// `data` values), nothing else: its side of each one decides.
    Thresholds(Vec<Value>),
    /// As `Thresholds`, and also compared after a multiplication by a rate that a table in
    /// the data holds for another input field (`input.amount * data.fx[input.currency] >=
    /// 10000`): its side of each scaled limit, at the record's rate, decides too.
    Scaled(Scale),
    /// Anything else: the exact value decides.
    Exact,
}

/// The rate table of a [`Usage::Scaled`] read and the limits the product meets.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// Compared as it is, with these constants.
    pub plain: Vec<Value>,
    /// The table (an object in the data) the rate is looked up in.
    pub table: Value,
    /// The input path whose value selects the rate (itself read exactly).
    pub by: Vec<String>,
    /// Compared, once multiplied by the rate, with these constants.
    pub limits: Vec<Value>,
}

fn merge(into: &mut Vec<Value>, from: Vec<Value>) {
    for t in from {
        if !into.contains(&t) {
            into.push(t);
        }
    }
}

impl Usage {
    /// The weakest usage that covers both: an input read two ways is keyed for both.
    fn join(self, other: Usage) -> Usage {
        match (self, other) {
            (Usage::Exact, _) | (_, Usage::Exact) => Usage::Exact,
            (Usage::Kind, u) | (u, Usage::Kind) => u,
            (Usage::Thresholds(mut a), Usage::Thresholds(b)) => {
                merge(&mut a, b);
                Usage::Thresholds(a)
            }
            (Usage::Thresholds(a), Usage::Scaled(mut s))
            | (Usage::Scaled(mut s), Usage::Thresholds(a)) => {
                merge(&mut s.plain, a);
                Usage::Scaled(s)
            }
            (Usage::Scaled(mut a), Usage::Scaled(b)) => {
                // One table and one key only: two rates would make the sides a function of
                // two products, which this key does not hold.
                if a.table != b.table || a.by != b.by {
                    return Usage::Exact;
                }
                merge(&mut a.plain, b.plain);
                merge(&mut a.limits, b.limits);
                Usage::Scaled(a)
            }
        }
    }
}

/// One path under `input` the policy reads, e.g. `["transaction", "amount"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub path: Vec<String>,
    pub usage: Usage,
}

/// Why a policy's decisions cannot be memoised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unbounded {
    /// `input` itself, or `input[x]` with a key known only at evaluation.
    WholeInput,
    NonDeterministic(String),
    /// `with` replaces input or data during evaluation.
    WithModifier,
    /// The syntax tree could not be read.
    Ast(String),
}

/// What the policy reads of its input: bounded (these paths, used this way), or not.
#[derive(Debug, Clone, PartialEq)]
pub enum InputReads {
    Bounded(Vec<Read>),
    Unbounded(Unbounded),
}

impl InputReads {
    /// Analyses every module loaded in `engine` (conservative: also the rules the entry
    /// point never reaches). `data` is the policy data the thresholds are looked up in.
    pub fn of(engine: &regorus::Engine, data: &Value) -> InputReads {
        let ast = match engine
            .get_ast_as_json()
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Json>(&s).map_err(|e| e.to_string()))
        {
            Ok(ast) => ast,
            Err(e) => return InputReads::Unbounded(Unbounded::Ast(e)),
        };
        let modules: Vec<Module<'_>> = match ast.as_array() {
            Some(m) => m.iter().map(Module::of).collect(),
            None => return InputReads::Unbounded(Unbounded::Ast("not a list".into())),
        };
        let mut walk = Walk {
            data,
            packages: packages(&modules),
            constants: constants(&modules, data),
            package: String::new(),
            reads: BTreeMap::new(),
            stop: None,
        };
        for m in &modules {
            walk.package = m.package.clone();
            walk.any(m.ast);
        }
        match walk.stop {
            Some(why) => InputReads::Unbounded(why),
            None => InputReads::Bounded(
                walk.reads
                    .into_iter()
                    .map(|(path, usage)| Read { path, usage })
                    .collect(),
            ),
        }
    }
}

struct Module<'a> {
    ast: &'a Json,
    package: String,
    text: &'a str,
}

impl<'a> Module<'a> {
    fn of(policy: &'a Json) -> Module<'a> {
        let ast = &policy["ast"];
        let package = name_of(&ast["package"]["refr"]).unwrap_or_default();
        let package = package
            .strip_prefix("data.")
            .map(str::to_owned)
            .unwrap_or(package);
        let text = policy["source"]["contents"].as_str().unwrap_or_default();
        Module { ast, package, text }
    }
}

/// The single variant of a serialised enum: `{"RefDot": {...}}` → `("RefDot", {...})`.
fn variant(j: &Json) -> Option<(&str, &Json)> {
    let o = j.as_object()?;
    if o.len() != 1 {
        return None;
    }
    o.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// `a.b.c` as a dotted name, when the expression is only variables and fields.
fn name_of(j: &Json) -> Option<String> {
    match variant(j)? {
        ("Var", v) => v["value"].as_str().map(str::to_owned),
        ("RefDot", v) => Some(format!(
            "{}.{}",
            name_of(&v["refr"])?,
            v["field"][1].as_str()?
        )),
        _ => None,
    }
}

/// A reference rooted at `root`: its literal path, whether the whole reference is literal,
/// and the computed indexes (`x` in `a[x]`) that still need walking.
struct Chain<'a> {
    path: Vec<String>,
    literal: bool,
    dynamic: Vec<&'a Json>,
}

fn chain<'a>(j: &'a Json, root: &str) -> Option<Chain<'a>> {
    match variant(j)? {
        ("Var", v) if v["value"].as_str() == Some(root) => Some(Chain {
            path: vec![],
            literal: true,
            dynamic: vec![],
        }),
        ("RefDot", v) => {
            let mut c = chain(&v["refr"], root)?;
            match v["field"][1].as_str() {
                Some(f) if c.literal => c.path.push(f.to_owned()),
                Some(_) => {}
                None => c.literal = false,
            }
            Some(c)
        }
        ("RefBrack", v) => {
            let mut c = chain(&v["refr"], root)?;
            let index = &v["index"];
            match variant(index) {
                Some(("String" | "RawString", s)) if c.literal => match s["value"].as_str() {
                    Some(f) => c.path.push(f.to_owned()),
                    None => c.literal = false,
                },
                _ => {
                    c.literal = false;
                    c.dynamic.push(index);
                }
            }
            Some(c)
        }
        _ => None,
    }
}

/// Package-level rules `name := data.x.y` or `name := <number>` with one definition and a
/// name no query rebinds: their value is known before evaluation.
fn constants(modules: &[Module<'_>], data: &Value) -> BTreeMap<(String, String), Value> {
    let mut definitions = BTreeMap::<(String, String), usize>::new();
    let mut candidates = BTreeMap::new();
    let mut rebound = BTreeSet::new();
    for m in modules {
        for rule in m.ast["rules"].as_array().into_iter().flatten() {
            let (head, value, bodies) = match variant(rule) {
                Some(("Spec", s)) => match variant(&s["head"]) {
                    Some(("Compr", h)) => (h, &h["assign"]["value"], s["bodies"].as_array()),
                    Some((_, h)) => (h, &Json::Null, None),
                    None => continue,
                },
                Some(("Default", d)) => (d, &Json::Null, None),
                _ => continue,
            };
            let Some(name) = name_of(&head["refr"]) else {
                continue;
            };
            *definitions
                .entry((m.package.clone(), name.clone()))
                .or_default() += 1;
            if bodies.is_some_and(|b| b.is_empty()) && !value.is_null() {
                candidates.insert((m.package.clone(), name), value);
            }
        }
        bindings(m.ast, m.text, &mut rebound);
    }
    let packages = packages(modules);
    candidates
        .into_iter()
        .filter(|(k, _)| definitions.get(k) == Some(&1) && !rebound.contains(&k.1))
        .filter_map(|(k, expr)| {
            let v = literal(expr)
                .or_else(|| {
                    let c = chain(expr, "data").filter(|c| c.literal)?;
                    (!overlaps(&packages, &c.path)).then(|| lookup(data, &c.path))
                })
                .filter(|v| *v != Value::Undefined)?;
            Some((k, v))
        })
        .collect()
}

fn packages(modules: &[Module<'_>]) -> Vec<Vec<String>> {
    modules
        .iter()
        .map(|m| m.package.split('.').map(str::to_owned).collect())
        .collect()
}

/// Whether a package lives under (or over) this data path: its rules would merge into it,
/// so the path's value is not known from the data alone.
fn overlaps(packages: &[Vec<String>], path: &[String]) -> bool {
    packages
        .iter()
        .any(|p| p.iter().zip(path).all(|(a, b)| a == b))
}

fn literal(j: &Json) -> Option<Value> {
    match variant(j)? {
        // regorus writes its numbers as exact decimals, and reads them back the same way.
        ("Number", n) => Value::from_json_str(&n["value"].to_string()).ok(),
        _ => None,
    }
}

fn lookup(v: &Value, path: &[String]) -> Value {
    let mut v = v.clone();
    for p in path {
        v = v[&Value::from(p.as_str())].clone();
    }
    v
}

/// Every name a query binds (`:=`, `some`, `every`, function arguments).
fn bindings(j: &Json, text: &str, into: &mut BTreeSet<String>) {
    let span_text = |s: &Json| -> Option<String> {
        let (a, b) = (s["start"].as_u64()?, s["end"].as_u64()?);
        text.get(usize::try_from(a).ok()?..usize::try_from(b).ok()?)
            .map(str::to_owned)
    };
    match j {
        Json::Array(a) => a.iter().for_each(|x| bindings(x, text, into)),
        Json::Object(o) => {
            match variant(j) {
                Some(("AssignExpr", a)) => vars(&a["lhs"], into),
                Some(("SomeIn", s)) => {
                    vars(&s["key"], into);
                    vars(&s["value"], into);
                }
                Some(("Func", f)) => vars(&f["args"], into),
                Some(("SomeVars", s)) => into.extend(
                    s["vars"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(span_text),
                ),
                Some(("Every", e)) => {
                    into.extend(span_text(&e["key"]));
                    into.extend(span_text(&e["value"]));
                }
                _ => {}
            }
            o.values().for_each(|x| bindings(x, text, into));
        }
        _ => {}
    }
}

fn vars(j: &Json, into: &mut BTreeSet<String>) {
    match j {
        Json::Array(a) => a.iter().for_each(|x| vars(x, into)),
        Json::Object(o) => {
            if let Some(("Var", v)) = variant(j) {
                into.extend(v["value"].as_str().map(str::to_owned));
            }
            o.values().for_each(|x| vars(x, into));
        }
        _ => {}
    }
}

struct Walk<'a> {
    data: &'a Value,
    packages: Vec<Vec<String>>,
    constants: BTreeMap<(String, String), Value>,
    package: String,
    reads: BTreeMap<Vec<String>, Usage>,
    stop: Option<Unbounded>,
}

impl Walk<'_> {
    fn read(&mut self, c: &Chain<'_>, usage: Usage) {
        if c.path.is_empty() {
            self.stop.get_or_insert(Unbounded::WholeInput);
            return;
        }
        let usage = if c.literal { usage } else { Usage::Exact };
        let joined = match self.reads.remove(&c.path) {
            Some(u) => u.join(usage),
            None => usage,
        };
        self.reads.insert(c.path.clone(), joined);
        for d in &c.dynamic {
            self.any(d);
        }
    }

    /// A number known before evaluation: a literal, `data.…`, or a constant rule's field.
    fn constant(&self, j: &Json) -> Option<Value> {
        self.known(j).filter(|v| matches!(v, Value::Number(_)))
    }

    /// A value known before evaluation (see `constant`), of any type.
    fn known(&self, j: &Json) -> Option<Value> {
        let v = if let Some(v) = literal(j) {
            v
        } else if let Some(c) = chain(j, "data").filter(|c| c.literal) {
            if overlaps(&self.packages, &c.path) {
                return None;
            }
            lookup(self.data, &c.path)
        } else {
            let (root, rest) = self.rooted_at_constant(j)?;
            lookup(&root, &rest)
        };
        (v != Value::Undefined).then_some(v)
    }

    /// `input.a * T[input.b]` (either order), `T` a table known before evaluation, and
    /// `input.a`, `input.b` literal paths: the product's parts.
    fn product<'j>(&self, j: &'j Json) -> Option<(Chain<'j>, Value, Chain<'j>)> {
        let ("ArithExpr", e) = variant(j)? else {
            return None;
        };
        if e["op"].as_str() != Some("Mul") {
            return None;
        }
        let (lhs, rhs) = (&e["lhs"], &e["rhs"]);
        [(lhs, rhs), (rhs, lhs)].into_iter().find_map(|(a, b)| {
            let amount = chain(a, "input").filter(|c| c.literal && !c.path.is_empty())?;
            let ("RefBrack", r) = variant(b)? else {
                return None;
            };
            let table = self
                .known(&r["refr"])
                .filter(|t| matches!(t, Value::Object(_)))?;
            let by = chain(&r["index"], "input").filter(|c| c.literal && !c.path.is_empty())?;
            Some((amount, table, by))
        })
    }

    fn rooted_at_constant(&self, j: &Json) -> Option<(Value, Vec<String>)> {
        self.constants.iter().find_map(|((p, name), v)| {
            if *p != self.package {
                return None;
            }
            let c = chain(j, name).filter(|c| c.literal)?;
            Some((v.clone(), c.path))
        })
    }

    fn any(&mut self, j: &Json) {
        match j {
            Json::Array(a) => a.iter().for_each(|x| self.any(x)),
            Json::Object(o) => {
                if let Some((kind, v)) = variant(j) {
                    if self.node(kind, v, j) {
                        return;
                    }
                }
                if o.get("with_mods")
                    .is_some_and(|w| w.as_array().is_some_and(|a| !a.is_empty()))
                {
                    self.stop.get_or_insert(Unbounded::WithModifier);
                }
                o.values().for_each(|x| self.any(x));
            }
            _ => {}
        }
    }

    /// Handles the nodes that read input or call builtins; false to walk it generically.
    fn node(&mut self, kind: &str, v: &Json, whole: &Json) -> bool {
        match kind {
            "Var" | "RefDot" | "RefBrack" => match chain(whole, "input") {
                Some(c) => {
                    self.read(&c, Usage::Exact);
                    true
                }
                None => false,
            },
            "Call" => {
                let name = name_of(&v["fcn"]).unwrap_or_default();
                if NON_DETERMINISTIC.contains(&name.as_str())
                    || NON_DETERMINISTIC_PREFIXES
                        .iter()
                        .any(|p| name.starts_with(p))
                {
                    self.stop
                        .get_or_insert(Unbounded::NonDeterministic(name.clone()));
                }
                let params = v["params"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                if let ([p], true) = (params, TYPE_TESTS.contains(&name.as_str())) {
                    if let Some(c) = chain(p, "input") {
                        self.read(&c, Usage::Kind);
                        return true;
                    }
                }
                params.iter().for_each(|p| self.any(p));
                true
            }
            "BoolExpr" => {
                let (lhs, rhs) = (&v["lhs"], &v["rhs"]);
                for (a, b) in [(lhs, rhs), (rhs, lhs)] {
                    if let (Some(c), Some(t)) = (chain(a, "input"), self.constant(b)) {
                        self.read(&c, Usage::Thresholds(vec![t]));
                        return true;
                    }
                    if let (Some((amount, table, by)), Some(t)) =
                        (self.product(a), self.constant(b))
                    {
                        self.read(&by, Usage::Exact);
                        self.read(
                            &amount,
                            Usage::Scaled(Scale {
                                plain: vec![],
                                table,
                                by: by.path.clone(),
                                limits: vec![t],
                            }),
                        );
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }
}

#[cfg(test)]
#[path = "reads_tests.rs"]
mod tests;
