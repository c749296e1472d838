//! Stage 2: the [`CrateGraph`] — compilation units and their dependencies.
//!
//! Owns: turning packages into units (one per lib/bin target), resolving
//! `--extern` names (renames, `[lib] name`), feature unification, topological
//! order, reverse dependencies and cycle detection.
//! Never: reads sources, looks at the target directory, or exposes petgraph
//! types (the rest of the code speaks of [`UnitId`]s).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, Result};
use crate::manifest::{Package, Target, TargetKind, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub usize);

/// One rustc invocation's worth of work: a target of a package.
#[derive(Debug, Clone)]
pub struct Unit {
    pub id: UnitId,
    /// Index into [`Workspace::packages`].
    pub package: usize,
    pub package_name: String,
    pub target: Target,
    pub crate_name: String,
    pub kind: TargetKind,
    /// Enabled features, unified across the workspace.
    pub features: BTreeSet<String>,
    /// Every feature the package declares (for `--check-cfg`).
    pub declared_features: BTreeSet<String>,
    pub deps: Vec<UnitDep>,
}

impl Unit {
    /// `core_lib (lib)`, `api_server (bin)`: how output names a unit.
    pub fn label(&self) -> String {
        format!("{} ({})", self.crate_name, self.kind.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct UnitDep {
    pub extern_name: String,
    pub unit: UnitId,
}

#[derive(Debug)]
pub struct CrateGraph {
    units: Vec<Unit>,
    order: Vec<UnitId>,
    dependents: Vec<Vec<UnitId>>,
}

impl CrateGraph {
    pub fn build(ws: &Workspace) -> Result<CrateGraph> {
        check_cycles(ws)?;
        let features = resolve_features(ws)?;
        let mut units = Vec::new();
        let mut lib_of: HashMap<&str, UnitId> = HashMap::new();
        for (index, package) in ws.packages.iter().enumerate() {
            for target in &package.targets {
                if !package.is_member && target.kind == TargetKind::Bin {
                    continue; // cargo builds only the library of a non-member dependency
                }
                let id = UnitId(units.len());
                if target.kind != TargetKind::Bin {
                    lib_of.insert(&package.name, id);
                }
                units.push(Unit {
                    id,
                    package: index,
                    package_name: package.name.clone(),
                    target: target.clone(),
                    crate_name: target.crate_name(),
                    kind: target.kind,
                    features: features[&package.name].clone(),
                    declared_features: package.features.keys().cloned().collect(),
                    deps: Vec::new(),
                });
            }
        }
        for unit in &mut units {
            let package = &ws.packages[unit.package];
            unit.deps = unit_deps(ws, package, unit, &lib_of)?;
        }
        let order = topological_order(&units);
        let mut dependents = vec![Vec::new(); units.len()];
        for unit in &units {
            for dep in &unit.deps {
                dependents[dep.unit.0].push(unit.id);
            }
        }
        Ok(CrateGraph {
            units,
            order,
            dependents,
        })
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    pub fn unit(&self, id: UnitId) -> &Unit {
        &self.units[id.0]
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Dependencies before dependents.
    pub fn topological(&self) -> &[UnitId] {
        &self.order
    }

    /// Units that depend on `id` directly.
    pub fn dependents(&self, id: UnitId) -> &[UnitId] {
        &self.dependents[id.0]
    }

    /// Every unit `id` depends on, directly or not, in no particular order.
    pub fn transitive_deps(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| self.unit(u).deps.iter().map(|d| d.unit).collect())
    }

    /// Every unit that depends on `id`, directly or not.
    pub fn transitive_dependents(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| self.dependents(u).to_vec())
    }
}

fn closure(start: UnitId, next: impl Fn(UnitId) -> Vec<UnitId>) -> BTreeSet<UnitId> {
    let mut seen = BTreeSet::new();
    let mut stack = next(start);
    while let Some(u) = stack.pop() {
        if seen.insert(u) {
            stack.extend(next(u));
        }
    }
    seen
}

fn unit_deps(
    ws: &Workspace,
    package: &Package,
    unit: &Unit,
    lib_of: &HashMap<&str, UnitId>,
) -> Result<Vec<UnitDep>> {
    let mut deps = Vec::new();
    if unit.kind == TargetKind::Bin
        && let (Some(lib), Some(&lib_id)) = (package.lib(), lib_of.get(package.name.as_str()))
    {
        deps.push(UnitDep {
            extern_name: lib.crate_name(),
            unit: lib_id,
        });
    }
    for dep in &package.dependencies {
        let Some(&dep_unit) = lib_of.get(dep.package.as_str()) else {
            return Err(Error::manifest(
                &package.manifest_path,
                Some(&package.name),
                format!(
                    "dependency `{}` has no library target to depend on",
                    dep.name
                ),
            ));
        };
        let extern_name = if dep.is_renamed() {
            dep.name.replace('-', "_")
        } else {
            dep_lib_name(ws, &dep.package)
        };
        deps.push(UnitDep {
            extern_name,
            unit: dep_unit,
        });
    }
    Ok(deps)
}

fn dep_lib_name(ws: &Workspace, package: &str) -> String {
    ws.package(package)
        .and_then(Package::lib)
        .map(Target::crate_name)
        .unwrap_or_else(|| package.replace('-', "_"))
}

fn topological_order(units: &[Unit]) -> Vec<UnitId> {
    let mut graph = DiGraph::<UnitId, ()>::new();
    let nodes: Vec<NodeIndex> = units.iter().map(|u| graph.add_node(u.id)).collect();
    for unit in units {
        for dep in &unit.deps {
            graph.add_edge(nodes[dep.unit.0], nodes[unit.id.0], ());
        }
    }
    // Package cycles were rejected already; units add only bin → own lib edges.
    toposort(&graph, None)
        .map(|order| order.into_iter().map(|n| graph[n]).collect())
        .unwrap_or_else(|_| units.iter().map(|u| u.id).collect())
}

/// Reject dependency cycles between packages, naming one: `a → b → a`.
fn check_cycles(ws: &Workspace) -> Result<()> {
    let mut graph = DiGraph::<&str, ()>::new();
    let nodes: HashMap<&str, NodeIndex> = ws
        .packages
        .iter()
        .map(|p| (p.name.as_str(), graph.add_node(p.name.as_str())))
        .collect();
    for package in &ws.packages {
        for dep in &package.dependencies {
            if let Some(&to) = nodes.get(dep.package.as_str()) {
                graph.add_edge(nodes[package.name.as_str()], to, ());
            }
        }
    }
    if toposort(&graph, None).is_ok() {
        return Ok(());
    }
    let mut sccs: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
        .collect();
    sccs.sort_by_key(|scc| scc.iter().map(|n| graph[*n]).min());
    let scc = &sccs[0];
    let start = *scc.iter().min_by_key(|n| graph[**n]).unwrap_or(&scc[0]);
    let mut cycle = vec![start];
    let mut current = start;
    // Walk inside the component, always to the alphabetically first neighbour
    // not yet visited, until the walk returns to the start.
    loop {
        let mut next: Vec<NodeIndex> = graph
            .neighbors(current)
            .filter(|n| scc.contains(n))
            .collect();
        next.sort_by_key(|n| graph[*n]);
        if next.contains(&start)
            && (cycle.len() > 1 || current == start && graph.contains_edge(start, start))
        {
            cycle.push(start);
            break;
        }
        match next.into_iter().find(|n| !cycle.contains(n)) {
            Some(n) => {
                cycle.push(n);
                current = n;
            }
            None => {
                cycle.push(start);
                break;
            }
        }
    }
    Err(Error::Cycle {
        cycle: cycle.into_iter().map(|n| graph[n].to_owned()).collect(),
    })
}

/// Feature unification: every member gets its default features; every
/// dependency edge adds the features it requests; `"dep/feat"` entries
/// enable features of dependencies. Iterates to a fixpoint.
fn resolve_features(ws: &Workspace) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut requested: BTreeMap<String, BTreeSet<String>> = ws
        .packages
        .iter()
        .map(|p| (p.name.clone(), BTreeSet::new()))
        .collect();
    for package in &ws.packages {
        if package.is_member && package.features.contains_key("default") {
            add(&mut requested, &package.name, "default");
        }
        for dep in &package.dependencies {
            let target = ws.package(&dep.package);
            if dep.default_features && target.is_some_and(|t| t.features.contains_key("default")) {
                add(&mut requested, &dep.package, "default");
            }
            for feature in &dep.features {
                add(&mut requested, &dep.package, feature);
            }
        }
    }
    loop {
        let mut changed = false;
        for package in &ws.packages {
            let enabled: Vec<String> = requested[&package.name].iter().cloned().collect();
            for feature in enabled {
                let Some(enables) = package.features.get(&feature) else {
                    return Err(Error::manifest(
                        &package.manifest_path,
                        Some(&package.name),
                        format!(
                            "feature `{feature}` is requested but the package does not declare it"
                        ),
                    ));
                };
                for item in enables {
                    let (owner, name) = match item.split_once('/') {
                        Some((dep, f)) => {
                            let dep = package.dependencies.iter().find(|d| d.name == dep);
                            (
                                dep.map(|d| d.package.clone()).unwrap_or_default(),
                                f.to_owned(),
                            )
                        }
                        None => (package.name.clone(), item.clone()),
                    };
                    changed |= add(&mut requested, &owner, &name);
                }
            }
        }
        if !changed {
            return Ok(requested);
        }
    }
}

fn add(map: &mut BTreeMap<String, BTreeSet<String>>, package: &str, feature: &str) -> bool {
    map.get_mut(package)
        .is_some_and(|set| set.insert(feature.to_owned()))
}
