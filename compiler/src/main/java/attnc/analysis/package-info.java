/**
 * Block sparsity derived from a pattern: which tiles of (queries × keys) a kernel may skip
 * (EMPTY), compute without evaluating the mask (FULL), or must mask per element (PARTIAL).
 *
 * <p>For backends: {@link attnc.analysis.ClassifyTiles#classifier} gives a
 * {@link attnc.analysis.TileClassifier} per launch (pattern, binding, tile sizes, and the input
 * tensors when the mask reads any); ask it for {@code row(b, h, qTile)} (runs of non-empty KV
 * tiles), {@code kvRange}, {@code classify}, or {@code blockList(b, h)} (CSR, for a GPU). It
 * never builds a table over all tiles, and masks of indices only cost no pass over the data.
 *
 * <p>For {@code attnc explain} and {@code attnc plot}: {@link attnc.analysis.BlockSparsity#summarize}.
 *
 * <p>How: {@code IntervalAnalysis} bounds every sub-expression over a box of
 * (b, h, q, kv) with ranges plus linear forms in q and kv, three-valued booleans with linear
 * constraints, sound for {@link attnc.ir.Semantics} (32-bit wrapping widens to unknown).
 * {@link attnc.analysis.BlockMap} bounds loads of input tensors per tile; every decision is
 * checked against brute force by the tests.
 */
package attnc.analysis;
