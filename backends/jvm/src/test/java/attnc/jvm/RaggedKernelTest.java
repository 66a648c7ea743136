package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import attnc.front.Frontend;
import attnc.gen.PatternGenerator;
import attnc.gen.RaggedBatches;
import attnc.gen.Style;
import attnc.ir.DType;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.launch.DenseEquivalent;
import attnc.launch.KvCache;
import attnc.launch.Merge;
import attnc.launch.Partial;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.pass.Passes;
import attnc.reference.RaggedReference;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Ragged, paged and split launches of the JVM kernel against the double-precision reference, on
 * random patterns and random batches (page sizes 1 to 256, shuffled and shared pages, empty
 * sequences, up to 80 keys so that chunks span several key tiles). The bound is {@link Agreement}'s
 * 2e-5 of the output's scale: fp32 rounding in the kernel, plus, for split launches, the merge's
 * float32 partials (one rounding of o and lse per chunk, ~1e-7 relative each).
 */
class RaggedKernelTest {
    private static final RaggedBatches.Limits LIMITS = new RaggedBatches.Limits(4, 5, 80, new int[] {1, 2, 8, 16, 256}, new int[] {1, 3, 4, 8});

    record Case(Pattern pattern, RaggedBatch batch) {
        @Override
        public String toString() {
            KvCache cache = batch.cache();
            return Printer.pattern(pattern) + "-- q " + batch.q().shapeText() + " " + batch.q().dtype() + " starts " + Arrays.toString(batch.queryStarts().ints())
                    + ", pools " + cache.k().shapeText() + " " + cache.v().shapeText() + ", table " + Arrays.toString(cache.blockTable().ints())
                    + ", lengths " + Arrays.toString(cache.kvLengths().ints()) + ", params " + batch.params();
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 3)).as((seed, depth) -> {
            Random random = new Random(seed);
            // The generator's tile: sections have any size; the JVM backend refuses those that are not a multiple of its vector.
            Pattern pattern = Passes.optimize(PatternGenerator.generate(random, depth, Style.TAME).withTile(Optional.empty()), Map.of());
            return new Case(pattern, RaggedBatches.batch(pattern, random, LIMITS, dtype -> dtype));
        });
    }

    /**
     * Unsplit, every sequence's rows are its own dense launch (the reference's, at batch index b);
     * split into 2 to 9 chunks, the same; partials over random cuts of the keys, merged in a random
     * grouping and finished, the same.
     */
    @Property(tries = 60)
    void raggedSplitAndMergedLaunchesAreEachSequencesDenseLaunch(@ForAll("cases") Case c, @ForAll long seed) {
        Random random = new Random(seed);
        JvmKernel kernel = new JvmBackend().compile(c.pattern());
        RaggedBinding binding = RaggedBinding.of(c.pattern(), c.batch());
        Reference.Exact expected = denseReference(c, binding);
        Agreement.check(expected, kernel.forward(c.batch().withKvSplits(1)), "unsplit\n" + c);
        int splits = 2 + random.nextInt(8);
        Agreement.check(expected, kernel.forward(c.batch().withKvSplits(splits)), splits + " chunks\n" + c);
        Agreement.check(expected, mergedPartials(kernel, c.batch(), random), "merged partials\n" + c);
    }

    /** A sink joins each row once, whatever the chunks: 1, 3 and 7 agree, and an empty sequence's rows have LSE = the sink, output 0. */
    @Example
    void theSinkJoinsEachRowOnce() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("sinks", "input sinks: float32[H]\nnorm: softmax(sink = sinks[h])\nmask: q >= kv\n"), Map.of());
        Random random = new Random(11);
        int heads = 2, d = 4;
        float[] sinks = {0.7f, -1.5f};
        KvCache cache = new KvCache(Tensor.random(DType.FLOAT32, new int[] {9, 8, 1, d}, random), Tensor.random(DType.FLOAT32, new int[] {9, 8, 1, d}, random),
                Tensor.wrap(new int[] {0, 0, 0, 0, 3, 1, 8, 6}, 2, 4), Tensor.wrap(new int[] {0, 29}, 2));
        RaggedBatch batch = new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {3, heads, d}, random), Tensor.wrap(new int[] {0, 1, 3}, 3), cache,
                Map.of("sinks", Tensor.wrap(sinks, heads)));
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Reference.Exact reference = RaggedReference.run(pattern, batch.withKvSplits(1));
        for (int splits : new int[] {1, 3, 7}) {
            Result result = kernel.forward(batch.withKvSplits(splits));
            Agreement.check(reference, result, splits + " chunks");
            for (int h = 0; h < heads; h++) {
                assertEquals(sinks[h], result.lse()[h], 1e-6, "the empty sequence's LSE is its sink");
                for (int c = 0; c < d; c++) assertEquals(0f, result.out()[h * d + c]);
            }
        }
        Partial all = kernel.partial(batch, 0, 1000);
        for (int h = 0; h < heads; h++) assertEquals(Float.NEGATIVE_INFINITY, all.lse().floats()[h], "partials hold no sink");
        Agreement.check(reference, kernel.finish(batch, all), "one partial, finished");
    }

    @Example
    void sumsHaveNoLse() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("sig", "norm: sigmoid(bias = -1.0)\nmask: q >= kv\noutput: o * 2.0\n"), Map.of());
        Random random = new Random(5);
        KvCache cache = KvCache.packed(Tensor.random(DType.FLOAT32, new int[] {40, 1, 4}, random), Tensor.random(DType.FLOAT32, new int[] {40, 1, 4}, random),
                Tensor.wrap(new int[] {0, 33, 40}, 3));
        RaggedBatch batch = new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {4, 2, 4}, random), Tensor.wrap(new int[] {0, 3, 4}, 3), cache, Map.of());
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Result split = kernel.forward(batch.withKvSplits(4));
        assertNull(split.lse());
        Agreement.check(RaggedReference.run(pattern, batch), split, "sigmoid, 4 chunks");
    }

    /** The reference's dense launch of each sequence, its rows placed as the ragged launch's [totalQ, H, Dv]. */
    static Reference.Exact denseReference(Case c, RaggedBinding binding) {
        int heads = binding.heads(), dv = binding.valueDim(), rows = binding.totalQueries() * heads;
        boolean softmax = c.pattern().norm() instanceof Norm.Softmax;
        double[] out = new double[rows * dv], lse = softmax ? new double[rows] : null;
        for (RaggedBinding.Sequence s : binding.sequences()) {
            Reference.Exact dense = Reference.run(c.pattern(), RaggedBatches.dense(c.batch(), s.index(), s.inputs()), DenseEquivalent.rows(binding, s.index()), done -> {});
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < s.queries(); i++) {
                    int from = h * s.queries() + i, to = (s.firstQuery() + i) * heads + h;
                    System.arraycopy(dense.out(), from * dv, out, to * dv, dv);
                    if (softmax) lse[to] = dense.lse()[from];
                }
            }
        }
        return new Reference.Exact(out, lse, new int[] {binding.totalQueries(), heads, dv}, null);
    }

    private static Result mergedPartials(JvmKernel kernel, RaggedBatch batch, Random random) {
        int longest = Arrays.stream(batch.cache().kvLengths().ints()).max().orElse(0);
        List<Partial> parts = new ArrayList<>();
        for (int from = 0; from <= longest; ) {
            int to = from + 1 + random.nextInt(Math.max(1, longest / 2) + 1);
            parts.add(kernel.partial(batch, from, to));
            from = to;
        }
        while (parts.size() > 1) {
            int at = random.nextInt(parts.size() - 1), count = 2 + random.nextInt(Math.min(3, parts.size() - at) - 1);
            List<Partial> group = new ArrayList<>(parts.subList(at, at + count));
            parts.subList(at, at + count).clear();
            parts.add(at, Merge.merge(group));
        }
        return kernel.finish(batch, parts.getFirst());
    }
}
