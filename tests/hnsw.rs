//! HNSW on real and seeded data: recall against exact ground truth, churn (delete and re-insert)
//! without recall decay, determinism, filters, deletes of the entry point, slot reuse.

mod common;

use std::time::Instant;

use common::{brute_force, clustered, collection_with, dev_cosine, fixture_3k, recall, Rng};
use quiver::index::hnsw::Hnsw;
use quiver::{Collection, Index, IndexOptions, Item, Metric, Scratch, SearchParams};

/// The `ef_search` at which the dev set must reach recall@10 ≥ 0.98 (docs/hnsw.md).
const DEV_EF_SEARCH: usize = 64;

fn params(ef: usize) -> SearchParams<'static> {
    SearchParams {
        ef_search: Some(ef),
        ..SearchParams::default()
    }
}

/// An index-level HNSW over row-major `data` with ids `0..n`.
fn hnsw_with(metric: Metric, dim: usize, m: usize, seed: u64, data: &[f32]) -> Hnsw {
    let options = IndexOptions {
        seed,
        ..IndexOptions::default()
    };
    let mut index = Hnsw::new(dim, metric, m, &options).unwrap();
    let ids: Vec<u32> = (0..(data.len() / dim) as u32).collect();
    index.add(&ids, data).unwrap();
    index
}

fn ids(hits: &[quiver::Neighbor]) -> Vec<usize> {
    hits.iter().map(|n| n.id as usize).collect()
}

/// One 20k build serves both dev-set checks (the build dominates the run time): recall@10 at
/// the documented `ef_search`, then one round of churn.
#[test]
fn dev_set_recall_at_10_and_churn() {
    let Some(set) = dev_cosine() else { return };
    let start = Instant::now();
    let collection = collection_with("HNSW16", Metric::Cosine, set.dim, &set.base);
    let build = start.elapsed();
    let mut line = String::new();
    for ef in [16, 32, 64, 128] {
        let start = Instant::now();
        let r = recall(&collection, &set, 10, &params(ef));
        let qps = set.n_queries() as f64 / start.elapsed().as_secs_f64();
        line += &format!(" ef={ef}: recall {r:.4} ({qps:.0} QPS);");
        if ef == DEV_EF_SEARCH {
            assert!(r >= 0.98, "dev set recall@10 at ef {ef} = {r} < 0.98");
        }
    }
    let default = recall(&collection, &set, 10, &SearchParams::default());
    eprintln!(
        "HNSW16 dev set ({} x {}): build {build:.2?};{line} default ef: {default:.4}",
        set.n_base(),
        set.dim
    );
    assert!(
        default >= 0.98,
        "recall at the default ef_search = {default}"
    );
    churn_check(collection, &set, 16, 1, 77);
}

/// Deletes a random 30% and inserts them back (new internal ids, as the collection does),
/// three times; recall@10 must stay within 0.01 of a fresh build at an `ef_search` low enough
/// that recall is not saturated.
fn churn_check(fresh: Collection, set: &common::DataSet, ef: usize, rounds: usize, seed: u64) {
    let fresh_recall = recall(&fresh, set, 10, &params(ef));
    let mut churned = fresh;
    let mut rng = Rng(seed);
    let n = set.n_base();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let victims = &order[..n * 3 / 10];
        let names: Vec<String> = victims.iter().map(|i| i.to_string()).collect();
        assert_eq!(churned.delete(&names).unwrap(), victims.len());
        let after_delete = recall_live(&churned, set, ef);
        let items: Vec<Item> = victims
            .iter()
            .zip(&names)
            .map(|(&i, name)| Item {
                id: name,
                vector: set.row(i),
                metadata: None,
            })
            .collect();
        churned.add(&items).unwrap();
        let r = recall(&churned, set, 10, &params(ef));
        eprintln!(
            "churn seed {seed} round {round}: fresh {fresh_recall:.4}, after delete (vs live truth) \
             {after_delete:.4}, after re-insert {r:.4}"
        );
        assert!(
            r >= fresh_recall - 0.01,
            "seed {seed} round {round}: recall {r} after churn < fresh {fresh_recall} - 0.01"
        );
        assert!(
            after_delete >= fresh_recall - 0.03,
            "seed {seed} round {round}: recall {after_delete} over the survivors"
        );
    }
}

/// Recall@10 against brute force over the items still in the collection.
fn recall_live(collection: &Collection, set: &common::DataSet, ef: usize) -> f64 {
    let (mut hits, mut total) = (0, 0);
    for q in 0..set.n_queries() {
        let truth: Vec<u32> = set.truth[q * set.gt_k..(q + 1) * set.gt_k]
            .iter()
            .filter(|&&i| collection.contains(&i.to_string()))
            .take(10)
            .map(|&i| i as u32)
            .collect();
        assert_eq!(truth.len(), 10, "ground truth too short for this churn");
        let found = collection
            .search_with(set.query(q), 10, &params(ef))
            .unwrap();
        hits += found
            .iter()
            .filter(|h| truth.contains(&h.id.parse().unwrap()))
            .count();
        total += 10;
    }
    hits as f64 / total as f64
}

#[test]
fn churn_on_fixture_does_not_decay_recall() {
    let set = fixture_3k();
    let fresh = collection_with("HNSW16", Metric::Cosine, set.dim, &set.base);
    churn_check(fresh, &set, 10, 3, 2024);
}

/// The upsert pattern: items replaced one at a time (each replacement is a new internal id plus
/// a delete), so tombstones pile up and are consolidated many times over.
#[test]
fn one_at_a_time_upserts_do_not_decay_recall() {
    let set = fixture_3k();
    let mut collection = collection_with("HNSW16", Metric::Cosine, set.dim, &set.base);
    let ef = 10;
    let fresh = recall(&collection, &set, 10, &params(ef));
    let mut rng = Rng(4242);
    for _ in 0..3000 {
        let i = rng.below(set.n_base());
        let name = i.to_string();
        collection
            .upsert(&[Item {
                id: &name,
                vector: set.row(i),
                metadata: None,
            }])
            .unwrap();
    }
    assert_eq!(collection.len(), set.n_base());
    let after = recall(&collection, &set, 10, &params(ef));
    eprintln!("3000 single upserts (seed 4242): fresh {fresh:.4}, after {after:.4}");
    assert!(
        after >= fresh - 0.01,
        "seed 4242: recall {after} after upserts < fresh {fresh} - 0.01"
    );
}

/// Live nodes that a walk over layer-0 links from the entry point cannot reach.
fn unreachable_on_layer0(index: &Hnsw, max_id: u32) -> usize {
    let live = (0..max_id).filter(|&i| index.contains(i)).count();
    let Some(entry) = index.entry_point() else {
        return live;
    };
    let mut seen = std::collections::HashSet::from([entry]);
    let mut stack = vec![entry];
    while let Some(id) = stack.pop() {
        for n in index.neighbours_of(id, 0).unwrap() {
            if seen.insert(n) {
                stack.push(n);
            }
        }
    }
    live - seen.len()
}

/// Repair must not strand nodes: after each round of deleting 30% and re-inserting them, every
/// live node is still reachable over layer 0 (the exhaustive fallback would hide it otherwise).
#[test]
fn churn_keeps_layer0_connected() {
    let set = fixture_3k();
    let n = set.n_base() as u32;
    let mut index = hnsw_with(Metric::Cosine, set.dim, 16, 5, &set.base);
    assert_eq!(unreachable_on_layer0(&index, n), 0, "fresh build");
    let mut rng = Rng(5);
    let mut row_of: Vec<usize> = (0..n as usize).collect();
    let mut next = n;
    for round in 0..4 {
        let mut order: Vec<u32> = (0..next).filter(|&i| index.contains(i)).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let victims = &order[..order.len() * 3 / 10];
        index.remove(victims);
        assert_eq!(index.tombstones(), 0, "30% triggers consolidation");
        let stranded = unreachable_on_layer0(&index, next);
        assert_eq!(stranded, 0, "seed 5 round {round}: after deletes");
        let (mut ids, mut rows) = (Vec::new(), Vec::new());
        for &v in victims {
            row_of.push(row_of[v as usize]);
            rows.extend_from_slice(set.row(row_of[v as usize]));
            ids.push(next);
            next += 1;
        }
        index.add(&ids, &rows).unwrap();
        let stranded = unreachable_on_layer0(&index, next);
        assert_eq!(stranded, 0, "seed 5 round {round}: after re-inserts");
    }
}

#[test]
fn same_seed_and_order_give_the_same_graph_and_results() {
    let dim = 16;
    let data = clustered(21, 1500, dim, 12);
    let build = |seed| {
        let mut index = hnsw_with(Metric::L2, dim, 8, seed, &data);
        // Deletes and re-inserts are part of the sequence too.
        let victims: Vec<u32> = (0..1500).step_by(4).collect();
        index.remove(&victims);
        let again: Vec<u32> = (1500..1500 + victims.len() as u32).collect();
        let rows: Vec<f32> = victims
            .iter()
            .flat_map(|&v| data[v as usize * dim..(v as usize + 1) * dim].to_vec())
            .collect();
        index.add(&again, &rows).unwrap();
        index
    };
    let (a, b, c) = (build(7), build(7), build(8));
    let graph = |index: &Hnsw| -> Vec<(u32, usize, Vec<u32>)> {
        let mut out = Vec::new();
        for id in 0..1500 + 375 {
            if let Some(level) = index.level_of(id) {
                for layer in 0..=level {
                    out.push((id, layer, index.neighbours_of(id, layer).unwrap()));
                }
            }
        }
        out
    };
    assert_eq!(graph(&a), graph(&b), "same seed, same graph");
    assert_eq!(a.entry_point(), b.entry_point());
    assert_eq!(a.stats(), b.stats());
    assert_ne!(graph(&a), graph(&c), "another seed draws other levels");
    let mut scratch = Scratch::default();
    let mut rng = Rng(3);
    for _ in 0..20 {
        let q = rng.vector(dim);
        let ra = a.search(&q, 10, &params(20), &mut scratch).unwrap();
        let rb = b
            .search(&q, 10, &params(20), &mut Scratch::default())
            .unwrap();
        assert_eq!(ra, rb);
    }
}

#[test]
fn levels_follow_the_geometric_law() {
    let dim = 4;
    let data = clustered(5, 4000, dim, 3);
    let index = hnsw_with(Metric::L2, dim, 4, 99, &data);
    let above0 = (0..4000)
        .filter(|&id| index.level_of(id).unwrap() >= 1)
        .count();
    // P(level >= 1) = 1/m = 0.25: 1000 expected, sd about 27.
    assert!(
        (850..1150).contains(&above0),
        "{above0} of 4000 above layer 0"
    );
    assert!(index.stats().top_level >= 3);
}

#[test]
fn filter_returns_only_matching_ids_and_exact_counts() {
    let dim = 24;
    let n = 2000;
    let data = clustered(31, n, dim, 16);
    for metric in [Metric::L2, Metric::Cosine] {
        let mut prepared = data.clone();
        if metric == Metric::Cosine {
            for row in prepared.chunks_exact_mut(dim) {
                quiver::distance::normalize(row);
            }
        }
        let index = hnsw_with(metric, dim, 12, 1, &prepared);
        let mut scratch = Scratch::default();
        let mut rng = Rng(8);
        for modulus in [2u32, 7, 50, 400, 1999] {
            let filter = move |id: u32| id % modulus == 3 % modulus;
            let matching = (0..n as u32).filter(|&id| filter(id)).count();
            let p = SearchParams {
                ef_search: Some(64),
                filter: Some(&filter),
                ..SearchParams::default()
            };
            let (mut hits, mut total) = (0, 0);
            for _ in 0..20 {
                let q = rng.vector(dim);
                let found = index.search(&q, 10, &p, &mut scratch).unwrap();
                assert_eq!(found.len(), 10.min(matching), "{metric} modulus {modulus}");
                assert!(found.iter().all(|h| filter(h.id)));
                let mut qp = q.clone();
                if metric == Metric::Cosine {
                    quiver::distance::normalize(&mut qp);
                }
                let subset: Vec<usize> = (0..n).filter(|&i| filter(i as u32)).collect();
                let rows: Vec<f32> = subset
                    .iter()
                    .flat_map(|&i| prepared[i * dim..(i + 1) * dim].to_vec())
                    .collect();
                let truth: Vec<usize> = brute_force(metric, dim, &rows, &qp, 10)
                    .into_iter()
                    .map(|j| subset[j])
                    .collect();
                hits += ids(&found).iter().filter(|i| truth.contains(i)).count();
                total += truth.len();
            }
            let r = hits as f64 / total as f64;
            assert!(r >= 0.9, "{metric} filter 1/{modulus}: recall {r}");
        }
    }
}

#[test]
fn deleting_the_entry_point_and_everything_keeps_search_working() {
    let dim = 8;
    let data = clustered(4, 600, dim, 6);
    let mut index = hnsw_with(Metric::L2, dim, 6, 12, &data);
    let mut scratch = Scratch::default();
    for round in 0..5 {
        let entry = index.entry_point().unwrap();
        assert_eq!(index.remove(&[entry]), 1);
        index.consolidate();
        let new_entry = index.entry_point().unwrap();
        assert_ne!(new_entry, entry, "round {round}");
        assert!(index.contains(new_entry));
        let hits = index
            .search(&data[..dim], 600, &params(50), &mut scratch)
            .unwrap();
        assert_eq!(hits.len(), 600 - round - 1, "every live item is reachable");
    }
    let everything: Vec<u32> = (0..600).collect();
    assert_eq!(index.remove(&everything), 595);
    assert_eq!(index.len(), 0);
    assert_eq!(index.entry_point(), None);
    assert!(index
        .search(&data[..dim], 5, &params(50), &mut scratch)
        .unwrap()
        .is_empty());
    let stats = index.stats();
    assert_eq!((stats.links, stats.free_slots), (0, stats.slots));
    // Adding again reuses the freed slots.
    let again: Vec<u32> = (600..1200).collect();
    index.add(&again, &data).unwrap();
    assert_eq!(index.stats().slots, 600);
    let hits = index
        .search(&data[dim..2 * dim], 1, &params(50), &mut scratch)
        .unwrap();
    assert_eq!(hits[0].id, 601);
}

#[test]
fn tombstones_hide_at_once_and_consolidate_in_batches() {
    let dim = 8;
    let data = clustered(9, 1000, dim, 5);
    let mut index = hnsw_with(Metric::L2, dim, 8, 3, &data);
    let mut scratch = Scratch::default();
    // 5% deleted: below the consolidation threshold, hidden nonetheless.
    let victims: Vec<u32> = (0..1000).step_by(20).collect();
    assert_eq!(index.remove(&victims), 50);
    assert_eq!(index.tombstones(), 50);
    assert_eq!(index.remove(&victims), 0, "already removed");
    for &v in &victims[..10] {
        assert!(!index.contains(v));
        assert!(index.vector(v).is_none());
        let q = &data[v as usize * dim..(v as usize + 1) * dim];
        let hits = index.search(q, 20, &params(40), &mut scratch).unwrap();
        assert!(hits.iter().all(|h| h.id % 20 != 0));
        assert_eq!(hits.len(), 20);
    }
    let more: Vec<u32> = (1..1000).step_by(20).collect();
    index.remove(&more);
    assert_eq!(index.tombstones(), 100);
    let last: Vec<u32> = (2..1000).step_by(1000).collect();
    index.remove(&last);
    assert_eq!(index.tombstones(), 0, "10% reached: consolidated");
    assert_eq!(index.stats().free_slots, 101);
    assert_eq!(index.len(), 899);
}

#[test]
fn small_graphs_and_bad_input() {
    let options = IndexOptions::default();
    assert!(Hnsw::new(4, Metric::L2, 1, &options).is_err());
    let zero_ef = IndexOptions {
        ef_construction: 0,
        ..options
    };
    assert!(Hnsw::new(4, Metric::L2, 16, &zero_ef).is_err());
    let mut index = Hnsw::new(4, Metric::L2, 16, &options).unwrap();
    let mut scratch = Scratch::default();
    assert!(index
        .search(&[0.0; 4], 3, &params(10), &mut scratch)
        .unwrap()
        .is_empty());
    assert_eq!(
        index.add(&[1, 2], &[0.0; 4]).unwrap_err().code(),
        "invalid_argument"
    );
    assert_eq!(
        index.add(&[1, 1], &[0.0; 8]).unwrap_err().code(),
        "duplicate_id"
    );
    assert_eq!(index.len(), 0, "a rejected batch changes nothing");
    index.add(&[5], &[1.0, 0.0, 0.0, 0.0]).unwrap();
    assert_eq!(
        index.add(&[5], &[0.0; 4]).unwrap_err().code(),
        "duplicate_id"
    );
    assert_eq!(
        index
            .search(&[0.0; 3], 1, &params(10), &mut scratch)
            .unwrap_err()
            .code(),
        "dimension_mismatch"
    );
    for n in 2..6u32 {
        index.add(&[10 + n], &[n as f32, 1.0, 0.0, 0.0]).unwrap();
        let hits = index
            .search(&[0.0; 4], 10, &params(1), &mut scratch)
            .unwrap();
        assert_eq!(hits.len(), index.len(), "k above len returns every item");
    }
    assert_eq!(index.spec().to_string(), "HNSW16");
    assert!(index.memory_bytes() > 0);
}
