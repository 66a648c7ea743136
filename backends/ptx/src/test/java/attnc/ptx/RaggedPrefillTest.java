package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.KvCache;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.ShapeException;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The host side of the ragged prefill that needs no GPU: which path a batch takes, refusals, and the per-sequence input copies. */
class RaggedPrefillTest {

    @Test
    void equalSmallQueryCountsDecodeAndEveryOtherBatchPrefills() throws Exception {
        Pattern causal = compile("mask: q >= kv");
        assertTrue(PagedDecode.takes(causal, ragged(causal, new int[] {0, 2, 4}, new int[] {5, 7}, 8, Map.of()), 90, false), "a decode step");
        assertFalse(PagedDecode.takes(causal, ragged(causal, new int[] {0, 1, 3}, new int[] {5, 7}, 8, Map.of()), 90, false), "unequal query counts");
        assertFalse(PagedDecode.takes(causal, ragged(causal, new int[] {0, 17, 34}, new int[] {5, 7}, 8, Map.of()), 90, false), "more than 16 queries");
        assertTrue(PagedDecode.takes(causal, ragged(causal, new int[] {0, 1, 2}, new int[] {5, 7}, 256, Map.of()), 90, false), "D = 256 on sm_90");
        assertFalse(PagedDecode.takes(causal, ragged(causal, new int[] {0, 1, 2}, new int[] {5, 7}, 256, Map.of()), 80, false), "D = 256 on sm_8x prefills");
        assertTrue(PagedDecode.takes(causal, ragged(causal, new int[] {0, 1, 2}, new int[] {5, 7}, 576, Map.of()), 90, true), "MLA's latent cache");
        assertFalse(PagedDecode.takes(causal, ragged(causal, new int[] {0, 1, 2}, new int[] {5, 7}, 576, Map.of()), 90, false), "D = 576, V of its own");
        Pattern document = compile("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]");
        assertFalse(PagedDecode.takes(document, ragged(document, new int[] {0, 1, 2}, new int[] {5, 7}, 8, Map.of("doc", Tensor.wrap(new int[14], 2, 7))), 90, false),
                "an input sized by Nkv: the decode kernel cannot take it, the prefill can");
    }

    @Test
    void headDimsAndRowCountsThePrefillCannotTakeAreRefusedInOneLine() throws Exception {
        Pattern causal = compile("mask: q >= kv");
        RaggedPrefill.requireSupported(ragged(causal, new int[] {0, 1, 3}, new int[] {5, 7}, 8, Map.of()));
        var odd = assertThrows(ShapeException.class, () -> RaggedPrefill.requireSupported(ragged(causal, new int[] {0, 1, 3}, new int[] {5, 7}, 12, Map.of())));
        assertEquals("the ptx backend's ragged prefill takes head dims that are multiples of 8 up to 256, got D = 12, Dv = 12", odd.getMessage());
        assertFalse(odd.getMessage().contains("\n"));
    }

    @Test
    void anInputSizedPerSequenceIsCopiedInEachSequencesOwnSizes() throws Exception {
        Pattern document = compile("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]");
        int[] ids = new int[14];
        for (int i = 0; i < ids.length; i++) ids[i] = 100 + i;
        RaggedBinding ragged = ragged(document, new int[] {0, 1, 3}, new int[] {5, 7}, 8, Map.of("doc", Tensor.wrap(ids, 2, 7)));
        long[] offsets = new long[2];
        Tensor copies = RaggedPrefill.sequenceCopies(document.inputs().getFirst(), ragged, 0, 1, offsets);
        // Sequence 0 sees doc[:, :5], sequence 1 all of doc [2, 7]; one spare element at the end.
        int[] want = {100, 101, 102, 103, 104, 107, 108, 109, 110, 111, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 0};
        assertArrayEquals(want, copies.ints(), Arrays.toString(copies.ints()));
        assertArrayEquals(new long[] {0, 40}, offsets, "byte offsets of each sequence's copy");
    }

    private static Pattern compile(String source) throws Exception {
        return Passes.optimize(Frontend.compile("p", source), Map.of());
    }

    /** Two sequences over a pool of 4 pages of 4 keys, H = 2, Hkv = 1, head dim {@code d}. */
    private static RaggedBinding ragged(Pattern pattern, int[] starts, int[] lengths, int d, Map<String, Tensor> inputs) {
        Tensor q = Tensor.ofFloats(DType.FLOAT32, new int[] {starts[2], 2, d}, new float[starts[2] * 2 * d]);
        Tensor pool = Tensor.ofFloats(DType.FLOAT32, new int[] {4, 4, 1, d}, new float[16 * d]);
        KvCache cache = new KvCache(pool, pool, Tensor.wrap(new int[] {0, 1, 2, 3}, 2, 2), Tensor.wrap(lengths, 2));
        return RaggedBinding.of(pattern, new RaggedBatch(q, Tensor.wrap(starts, 3), cache, inputs));
    }
}
