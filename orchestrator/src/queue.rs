//! A small ready-queue for scheduling (after cargo's `dependency_queue.rs`).
//!
//! Nodes wait for artifacts of other nodes: a library's metadata (pipelined
//! lib → lib) or its full link output (what binaries need). The queue hands
//! out ready nodes, highest priority first. It knows nothing about rustc.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::Hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Artifact {
    /// `.rmeta`: enough for a dependent library's front-end.
    Metadata,
    /// The finished job (`.rlib`, proc-macro, binary).
    Link,
}

#[derive(Debug)]
pub struct DependencyQueue<K> {
    /// Node → the artifacts it still waits for.
    waiting: HashMap<K, HashSet<(K, Artifact)>>,
    /// Artifact → nodes waiting for it.
    waiters: HashMap<(K, Artifact), Vec<K>>,
    done: HashSet<(K, Artifact)>,
    ready: BinaryHeap<(u64, std::cmp::Reverse<u64>, K)>,
    priority: HashMap<K, u64>,
    sequence: u64,
}

impl<K: Copy + Eq + Hash + Ord> Default for DependencyQueue<K> {
    fn default() -> Self {
        DependencyQueue {
            waiting: HashMap::new(),
            waiters: HashMap::new(),
            done: HashSet::new(),
            ready: BinaryHeap::new(),
            priority: HashMap::new(),
            sequence: 0,
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> DependencyQueue<K> {
    /// Add a node waiting for `deps`; artifacts already finished count as met.
    pub fn enqueue(
        &mut self,
        node: K,
        deps: impl IntoIterator<Item = (K, Artifact)>,
        priority: u64,
    ) {
        let pending: HashSet<(K, Artifact)> = deps
            .into_iter()
            .filter(|d| !self.done.contains(d))
            .collect();
        self.priority.insert(node, priority);
        for dep in &pending {
            self.waiters.entry(*dep).or_default().push(node);
        }
        if pending.is_empty() {
            self.push_ready(node);
        } else {
            self.waiting.insert(node, pending);
        }
    }

    /// Mark an artifact as available. `Link` implies `Metadata`.
    pub fn finish(&mut self, node: K, artifact: Artifact) {
        let artifacts: &[Artifact] = match artifact {
            Artifact::Metadata => &[Artifact::Metadata],
            Artifact::Link => &[Artifact::Metadata, Artifact::Link],
        };
        for &a in artifacts {
            if !self.done.insert((node, a)) {
                continue;
            }
            for waiter in self.waiters.remove(&(node, a)).unwrap_or_default() {
                let now_ready = self.waiting.get_mut(&waiter).is_some_and(|deps| {
                    deps.remove(&(node, a));
                    deps.is_empty()
                });
                if now_ready {
                    self.waiting.remove(&waiter);
                    self.push_ready(waiter);
                }
            }
        }
    }

    /// Undo `finish` for a node that must run after all (a relink fallback
    /// recompiles a library counted as fresh): nodes enqueued later wait for it.
    pub fn reopen(&mut self, node: K) {
        self.done.remove(&(node, Artifact::Metadata));
        self.done.remove(&(node, Artifact::Link));
    }

    /// The ready node with the highest priority (ties: first ready first).
    pub fn pop(&mut self) -> Option<K> {
        self.ready.pop().map(|(_, _, k)| k)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Nodes still waiting for something.
    pub fn blocked(&self) -> usize {
        self.waiting.len()
    }

    fn push_ready(&mut self, node: K) {
        let priority = self.priority.get(&node).copied().unwrap_or(0);
        self.sequence += 1;
        self.ready
            .push((priority, std::cmp::Reverse(self.sequence), node));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_lib_waits_for_metadata_only() {
        let mut q = DependencyQueue::default();
        q.enqueue(1, [], 0);
        q.enqueue(2, [(1, Artifact::Metadata)], 0);
        q.enqueue(3, [(1, Artifact::Link), (2, Artifact::Link)], 0);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None);
        q.finish(1, Artifact::Metadata);
        assert_eq!(q.pop(), Some(2));
        q.finish(2, Artifact::Link);
        assert_eq!(q.pop(), None, "bin still waits for 1's rlib");
        q.finish(1, Artifact::Link);
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.blocked(), 0);
    }

    #[test]
    fn finished_artifacts_are_met_at_enqueue() {
        let mut q = DependencyQueue::default();
        q.finish(7, Artifact::Link);
        q.enqueue(8, [(7, Artifact::Metadata)], 0);
        assert_eq!(q.pop(), Some(8));
    }

    #[test]
    fn highest_priority_first_then_fifo() {
        let mut q = DependencyQueue::default();
        q.enqueue(1, [], 1);
        q.enqueue(2, [], 5);
        q.enqueue(3, [], 5);
        assert_eq!((q.pop(), q.pop(), q.pop()), (Some(2), Some(3), Some(1)));
    }

    #[test]
    fn reopened_nodes_are_waited_for_again() {
        let mut q = DependencyQueue::default();
        q.finish(1, Artifact::Link);
        q.reopen(1);
        q.enqueue(1, [], 0);
        q.enqueue(2, [(1, Artifact::Link)], 0);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None, "2 waits for the reopened 1");
        q.finish(1, Artifact::Link);
        assert_eq!(q.pop(), Some(2));
    }

    #[test]
    fn a_failed_dependency_leaves_waiters_blocked() {
        let mut q = DependencyQueue::default();
        q.enqueue(1, [], 0);
        q.enqueue(2, [(1, Artifact::Link)], 0);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None);
        assert_eq!(q.blocked(), 1);
    }
}
