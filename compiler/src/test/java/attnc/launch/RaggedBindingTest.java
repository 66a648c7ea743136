package attnc.launch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.gen.RaggedBatches;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.reference.ReferenceBackend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every way a ragged launch can be wrong is refused before any work, in one line naming what was expected and what came. */
class RaggedBindingTest {
    private static final Random RANDOM = new Random(7);

    private static Pattern pattern(String source) throws Exception {
        return Passes.optimize(Frontend.compile("doc", source), Map.of());
    }

    private static final String DOC = "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv] && q >= kv\n";

    private static Tensor pool(int pages, int page, int heads, int width) {
        return Tensor.random(DType.FLOAT32, new int[] {pages, page, heads, width}, RANDOM);
    }

    /** Two sequences: 2 queries over 5 keys (pages 0, 1) and 1 query over 3 keys (page 2); doc ids [2, 5]. */
    private static RaggedBatch valid() {
        KvCache cache = new KvCache(pool(4, 4, 1, 2), pool(4, 4, 1, 3), Tensor.wrap(new int[] {0, 1, 2, 3}, 2, 2), Tensor.wrap(new int[] {5, 3}, 2));
        return new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {3, 2, 2}, RANDOM), Tensor.wrap(new int[] {0, 2, 3}, 3), cache,
                Map.of("doc", Tensor.wrap(new int[] {0, 0, 1, 1, 1, 4, 4, 4, 9, 9}, 2, 5)));
    }

    private static RaggedBatch withCache(RaggedBatch batch, KvCache cache) {
        return new RaggedBatch(batch.q(), batch.queryStarts(), cache, batch.inputs(), batch.params(), batch.kvSplits());
    }

    private static void refused(String message, Executable launch) {
        assertEquals(message, assertThrows(ShapeException.class, launch).getMessage());
    }

    @Test
    void aValidBatchBindsEachSequenceAsADenseLaunch() throws Exception {
        RaggedBatch batch = valid();
        RaggedBinding binding = RaggedBinding.of(pattern(DOC), batch);
        RaggedBinding.Sequence first = binding.sequences().get(0), second = binding.sequences().get(1);
        assertEquals(Map.of("B", 2, "H", 2, "Hkv", 1, "D", 2, "Dv", 3, "Nq", 2, "Nkv", 5, "Q0", 3), first.binding().sizes());
        assertEquals(Map.of("B", 2, "H", 2, "Hkv", 1, "D", 2, "Dv", 3, "Nq", 1, "Nkv", 3, "Q0", 2), second.binding().sizes());
        assertSame(batch.inputs().get("doc"), first.inputs().get("doc"), "the longest sequence sees doc itself");
        Tensor view = second.inputs().get("doc");
        assertArrayEquals(new int[] {2, 3}, view.shape(), "sequence 1 sees the leading [B, 3] of doc");
        assertArrayEquals(new int[] {0, 0, 1, 4, 4, 4}, view.ints());
        assertEquals(2, binding.page(1, 2));
    }

    @Test
    void pagesAndOffsets() throws Exception {
        Pattern pattern = pattern(DOC);
        RaggedBatch ok = valid();
        KvCache cache = ok.cache();
        Tensor table = cache.blockTable(), lengths = cache.kvLengths();
        refused("q: expected rank 3 [totalQ, H, D], got shape [3, 4]", () -> RaggedBinding.of(pattern,
                new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {3, 4}, RANDOM), ok.queryStarts(), cache, ok.inputs())));
        refused("cache.k: page size 3 (dimension 1 of [4, 3, 1, 2] [P, page, Hkv, D]) must be a power of two from 1 to 256",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(pool(4, 3, 1, 2), pool(4, 3, 1, 3), table, lengths))));
        refused("cache.k: expected head dim D = 2 (q [3, 2, 2] [totalQ, H, D]) in [4, 4, 1, 5] [P, page, Hkv, D], got 5",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(pool(4, 4, 1, 5), cache.v(), table, lengths))));
        refused("cache.v: expected shape [4, 4, 1, 3] [P, page, Hkv, Dv] to match cache.k [4, 4, 1, 2], got [4, 8, 1, 3]",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), pool(4, 8, 1, 3), table, lengths))));
        refused("heads: H = 2 must be a multiple of Hkv = 3 (GQA/MQA)",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(pool(4, 4, 3, 2), pool(4, 4, 3, 3), table, lengths))));
        refused("cache.blockTable: expected dtype int32, got float32",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), cache.v(), Tensor.wrap(new float[4], 2, 2), lengths))));
        refused("cache.blockTable: expected 2 rows [B, maxPages] (B = 2 sequences in cache.kvLengths), got [1, 4]",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), cache.v(), Tensor.wrap(new int[4], 1, 4), lengths))));
        refused("cache.kvLengths[0] = 9; expected 0 <= length <= maxPages * page = 2 * 4 = 8",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), cache.v(), table, Tensor.wrap(new int[] {9, 3}, 2)))));
        refused("cache.blockTable[0, 1] = 7 is not a page of the pool; expected 0 <= id < P = 4 (sequence 0 reads entries 0..1 for its 5 keys)",
                () -> RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), cache.v(), Tensor.wrap(new int[] {0, 7, 2, 3}, 2, 2), lengths))));
        refused("queryStarts: expected shape [3] [B + 1] (B = 2 sequences in cache.kvLengths), got [2]",
                () -> RaggedBinding.of(pattern, new RaggedBatch(ok.q(), Tensor.wrap(new int[] {0, 3}, 2), cache, ok.inputs())));
        refused("queryStarts[0] = 1; expected 0",
                () -> RaggedBinding.of(pattern, new RaggedBatch(ok.q(), Tensor.wrap(new int[] {1, 2, 3}, 3), cache, ok.inputs())));
        refused("queryStarts must not decrease: queryStarts[2] = 1 < queryStarts[1] = 2",
                () -> RaggedBinding.of(pattern, new RaggedBatch(ok.q(), Tensor.wrap(new int[] {0, 2, 1}, 3), cache, ok.inputs())));
        refused("queryStarts[2] = 2; expected 3 (q's dimension 0, totalQ)",
                () -> RaggedBinding.of(pattern, new RaggedBatch(ok.q(), Tensor.wrap(new int[] {0, 1, 2}, 3), cache, ok.inputs())));
        refused("kvSplits = 5000; expected 0 (the backend chooses) or a count from 1 to 4096", () -> RaggedBinding.of(pattern, ok.withKvSplits(5000)));
        // Entries past a sequence's last page are never read: anything goes there.
        RaggedBinding.of(pattern, withCache(ok, new KvCache(cache.k(), cache.v(), Tensor.wrap(new int[] {0, 1, 2, -40}, 2, 2), lengths)));
    }

    @Test
    void inputsAreGivenAtTheLargestExtentAndCheckedPerSequence() throws Exception {
        RaggedBatch ok = valid();
        refused("input 'doc': expected shape [2, 5] [B, Nkv] (each dimension the largest any sequence declares), got [2, 3]",
                () -> RaggedBinding.of(pattern(DOC), new RaggedBatch(ok.q(), ok.queryStarts(), ok.cache(), Map.of("doc", Tensor.wrap(new int[6], 2, 3)))));
        ShapeException e = assertThrows(ShapeException.class, () -> RaggedBinding.of(pattern("input doc: int32[B, Nkv]\nmask: doc[b, q + 1] == 0\n"), ok));
        assertTrue(e.getMessage().startsWith("sequence 0 (Nq = 2, Nkv = 5): input 'doc'"), e.getMessage());
    }

    @Test
    void outputsAndBackendsWithoutRaggedKernels() throws Exception {
        Pattern pattern = pattern(DOC);
        Kernel reference = new ReferenceBackend().compile(pattern);
        refused("out: expected shape [3, 2, 3] [totalQ, H, Dv], got [3, 2]", () -> reference.forward(valid(), Tensor.allocate(DType.FLOAT32, 3, 2), null));
        refused("lse: expected shape [3, 2] [totalQ, H], got [2, 3]",
                () -> reference.forward(valid(), Tensor.allocate(DType.FLOAT32, 3, 2, 3), Tensor.allocate(DType.FLOAT32, 2, 3)));
        refused("key range [4, 2): expected 0 <= kvFrom <= kvTo", () -> reference.partial(valid(), 4, 2));
        Kernel denseOnly = new Kernel() {
            @Override public Pattern pattern() { return pattern; }
            @Override public Result forward(Problem problem) { throw new AssertionError("not reached"); }
        };
        refused("queryStarts[0] = 1; expected 0", () -> denseOnly.forward(new RaggedBatch(valid().q(), Tensor.wrap(new int[] {1, 2, 3}, 3), valid().cache(), valid().inputs())));
        assertTrue(assertThrows(UnsupportedOperationException.class, () -> denseOnly.forward(valid())).getMessage().startsWith("this backend has no paged and ragged launches yet"));
    }

    @Test
    void packedSequencesAreOnePositionPages() {
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {7, 2, 3}, RANDOM), v = Tensor.random(DType.FLOAT32, new int[] {7, 2, 1}, RANDOM);
        KvCache cache = KvCache.packed(k, v, Tensor.wrap(new int[] {0, 4, 4, 7}, 4));
        assertEquals(1, cache.pageSize());
        assertArrayEquals(new int[] {4, 0, 3}, cache.kvLengths().ints());
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 0}, cache.blockTable().ints());
        assertEquals(k.getDouble(5 * 6 + 3 + 2), cache.k().getDouble(((5 * 1) * 2 + 1) * 3 + 2), "row 5, head 1, d 2");
        refused("kvStarts must not decrease: kvStarts[2] = 3 < kvStarts[1] = 4",
                () -> KvCache.packed(k, v, Tensor.wrap(new int[] {0, 4, 3, 7}, 4)));
    }

    @Test
    void theDenseEquivalentHoldsTheSequencesRows() throws Exception {
        Pattern pattern = pattern(DOC);
        RaggedBatch batch = valid();
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        for (int b = 0; b < 2; b++) {
            Problem mine = DenseEquivalent.of(binding, batch, b), independent = RaggedBatches.dense(batch, b, binding.sequences().get(b).inputs());
            assertArrayEquals(independent.q().floats(), mine.q().floats());
            assertArrayEquals(independent.k().floats(), mine.k().floats());
            assertArrayEquals(independent.v().floats(), mine.v().floats());
            assertEquals(independent.queryOffset(), mine.queryOffset());
        }
        assertArrayEquals(new int[] {2, 3}, DenseEquivalent.rows(binding, 1), "b = 1, H = 2, Nq = 1: rows (1·2 + h)·1");
    }
}
