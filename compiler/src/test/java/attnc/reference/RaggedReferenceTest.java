package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The ragged reference against the dense one, on random patterns and random ragged batches over
 * paged caches (random page sizes, shuffled and shared pages, empty sequences, random split
 * counts). Both compute in double from the same values, differing only in the order of a few
 * operations (a sink merged last instead of first, chunks merged by their LSE), so they agree to
 * 1e-9 relative (values of tame patterns stay in the hundreds; the rounding is ~1e-14), with
 * NaN exactly where the other has NaN and −∞ exactly where the other has −∞.
 */
class RaggedReferenceTest {
    static final double TOLERANCE = 1e-9;

    record Case(Pattern pattern, RaggedBatch batch) {
        @Override
        public String toString() {
            var cache = batch.cache();
            return Printer.pattern(pattern) + "-- q " + batch.q().shapeText() + " starts " + Arrays.toString(batch.queryStarts().ints())
                    + ", pools " + cache.k().shapeText() + " " + cache.v().shapeText() + ", table " + Arrays.toString(cache.blockTable().ints())
                    + ", lengths " + Arrays.toString(cache.kvLengths().ints()) + ", splits " + batch.kvSplits() + ", params " + batch.params();
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 3)).as((seed, depth) -> {
            Random random = new Random(seed);
            Pattern pattern = PatternGenerator.generate(random, depth, Style.TAME);
            return new Case(pattern, RaggedBatches.batch(pattern, random));
        });
    }

    @Property(tries = 300)
    void eachSequenceIsItsDenseLaunch(@ForAll("cases") Case c) {
        Reference.Exact ragged = RaggedReference.run(c.pattern(), c.batch());
        RaggedBinding binding = RaggedBinding.of(c.pattern(), c.batch());
        int heads = binding.heads(), dv = binding.valueDim();
        for (RaggedBinding.Sequence s : binding.sequences()) {
            Reference.Exact dense = Reference.run(c.pattern(), RaggedBatches.dense(c.batch(), s.index(), s.inputs()),
                    DenseEquivalent.rows(binding, s.index()), done -> {});
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < s.queries(); i++) {
                    int denseRow = h * s.queries() + i, raggedRow = (s.firstQuery() + i) * heads + h;
                    String where = "sequence " + s.index() + ", head " + h + ", query " + i + "\n" + c;
                    for (int d = 0; d < dv; d++) agree(dense.out()[denseRow * dv + d], ragged.out()[raggedRow * dv + d], "out d=" + d + ", " + where);
                    if (dense.lse() != null) agree(dense.lse()[denseRow], ragged.lse()[raggedRow], "lse, " + where);
                    if (dense.preOutput() != null) {
                        for (int d = 0; d < dv; d++) agree(dense.preOutput()[denseRow * dv + d], ragged.preOutput()[raggedRow * dv + d], "o, " + where);
                    }
                }
            }
        }
        assertEquals(c.pattern().norm() instanceof Norm.Softmax, ragged.lse() != null);
    }

    @Property(tries = 200)
    void splittingTheKeysChangesNothing(@ForAll("cases") Case c, @ForAll("splits") int splits) {
        Reference.Exact whole = RaggedReference.run(c.pattern(), c.batch().withKvSplits(1));
        Reference.Exact split = RaggedReference.run(c.pattern(), c.batch().withKvSplits(splits));
        agree(whole, split, "splits " + splits + "\n" + c);
    }

    /** Partials over random cuts of the keys, merged in a random grouping and finished, give the launch. */
    @Property(tries = 200)
    void mergedPartialsAreTheLaunch(@ForAll("cases") Case c, @ForAll long seed) {
        Random random = new Random(seed);
        Kernel reference = new ReferenceBackend().compile(c.pattern());
        int longest = Arrays.stream(c.batch().cache().kvLengths().ints()).max().orElse(0);
        List<Integer> cuts = new ArrayList<>(List.of(0));
        while (cuts.getLast() <= longest) cuts.add(cuts.getLast() + random.nextInt(Math.max(1, longest / 2) + 1));
        List<Partial> parts = new ArrayList<>();
        for (int i = 1; i < cuts.size(); i++) parts.add(reference.partial(c.batch(), cuts.get(i - 1), cuts.get(i)));
        parts.add(reference.partial(c.batch(), longest + 3, longest + 3));
        while (parts.size() > 1) {
            int at = random.nextInt(parts.size() - 1), count = 2 + random.nextInt(Math.min(3, parts.size() - at) - 1);
            List<Partial> group = new ArrayList<>(parts.subList(at, at + count));
            parts.subList(at, at + count).clear();
            parts.add(at, Merge.merge(group));
        }
        Result merged = reference.finish(c.batch(), parts.getFirst());
        Reference.Exact launch = RaggedReference.run(c.pattern(), c.batch());
        // Partials are float32, as every backend hands them over: the merge is held to float32's precision.
        agree(launch, merged, 1e-5, "cuts " + cuts + "\n" + c);
    }

    @Provide
    Arbitrary<Integer> splits() { return Arbitraries.integers().between(1, 40); }

    /**
     * A sink counts once whatever the split: an empty sequence's rows get LSE = z and o = 0, a
     * sequence with keys the sink's share e^(z − lse) of the mass, the same for 1 or 7 chunks.
     */
    @Example
    void theSinkJoinsEachRowOnce() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("sinks", "input sinks: float32[H]\nnorm: softmax(sink = sinks[h])\nmask: q >= kv\n"), Map.of());
        Random random = new Random(3);
        int heads = 2, d = 4;
        float[] sinks = {0.7f, -1.5f};
        KvCache cache = new KvCache(Tensor.random(DType.FLOAT32, new int[] {3, 4, 1, d}, random), Tensor.random(DType.FLOAT32, new int[] {3, 4, 1, d}, random),
                Tensor.wrap(new int[] {2, 0, 1, 0}, 2, 2), Tensor.wrap(new int[] {0, 6}, 2));
        RaggedBatch batch = new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {3, heads, d}, random), Tensor.wrap(new int[] {0, 1, 3}, 3), cache,
                Map.of("sinks", Tensor.wrap(sinks, heads)));
        Reference.Exact one = RaggedReference.run(pattern, batch.withKvSplits(1)), seven = RaggedReference.run(pattern, batch.withKvSplits(7));
        for (int h = 0; h < heads; h++) {
            assertEquals(sinks[h], one.lse()[h], 1e-7, "the empty sequence's LSE is its sink");
            for (int c = 0; c < d; c++) assertEquals(0, one.out()[h * d + c]);
        }
        agree(one, seven, "1 against 7 chunks");
        Reference.Exact without = RaggedReference.run(Passes.optimize(Frontend.compile("plain", "mask: q >= kv\n"), Map.of()), new RaggedBatch(batch.q(), batch.queryStarts(), cache, Map.of()).withKvSplits(3));
        for (int row = heads; row < 3 * heads; row++) {
            double z = sinks[row % heads], keys = without.lse()[row], share = Math.exp(keys - one.lse()[row]);
            assertEquals(Math.log(Math.exp(keys) + Math.exp(z)), one.lse()[row], 1e-12, "lse = log(e^keys + e^z)");
            for (int c = 0; c < d; c++) assertEquals(without.out()[row * d + c] * share, one.out()[row * d + c], 1e-12, "o scaled by the keys' share");
        }
    }

    @Example
    void partialsHaveNoSinkAndNoTransform() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("gated", "mask: true\nnorm: softmax(sink = 2.0)\noutput: o * 3.0 + 1.0\n"), Map.of());
        Random random = new Random(5);
        KvCache cache = new KvCache(Tensor.random(DType.FLOAT32, new int[] {2, 2, 1, 2}, random), Tensor.random(DType.FLOAT32, new int[] {2, 2, 1, 2}, random),
                Tensor.wrap(new int[] {1, 0}, 1, 2), Tensor.wrap(new int[] {3}, 1));
        RaggedBatch batch = RaggedBatch.decode(Tensor.random(DType.FLOAT32, new int[] {1, 1, 2}, random), cache, Map.of());
        Reference.Exact nothing = RaggedReference.partial(pattern, batch, 3, 9);
        assertArrayEquals(new double[] {0, 0}, nothing.out());
        assertEquals(Double.NEGATIVE_INFINITY, nothing.lse()[0]);
        assertNull(nothing.preOutput());
        Result empty = new ReferenceBackend().compile(pattern).finish(batch, new Partial(Tensor.wrap(new float[2], 1, 1, 2), Tensor.wrap(new float[] {Float.NEGATIVE_INFINITY}, 1, 1)));
        assertEquals(2.0f, empty.lse()[0], "a row with no key: LSE = the sink");
        assertArrayEquals(new float[] {1, 1}, empty.out(), "and the transform of o = 0");
        Kernel reference = new ReferenceBackend().compile(pattern);
        Partial all = reference.partial(batch, 0, 3);
        Result finished = reference.finish(batch, all), launch = reference.forward(batch);
        double keys = all.lse().floats()[0], lse = Math.log(Math.exp(keys) + Math.exp(2.0));
        assertEquals(lse, finished.lse()[0], 1e-6, "the partial's LSE is its keys' alone; finish adds the sink once");
        assertEquals(lse, launch.lse()[0], 1e-6);
        for (int c = 0; c < 2; c++) {
            double o = all.out().floats()[c] * Math.exp(keys - lse);
            assertEquals(3 * o + 1, finished.out()[c], 1e-6, "o scaled by the keys' share, then transformed");
            assertEquals(3 * o + 1, launch.out()[c], 1e-6);
        }
    }

    private static void agree(Reference.Exact expected, Reference.Exact actual, String what) {
        assertArrayEquals(expected.outShape(), actual.outShape(), what);
        for (int i = 0; i < expected.out().length; i++) agree(expected.out()[i], actual.out()[i], "out[" + i + "] " + what);
        if (expected.lse() != null) for (int i = 0; i < expected.lse().length; i++) agree(expected.lse()[i], actual.lse()[i], "lse[" + i + "] " + what);
        else assertNull(actual.lse());
    }

    private static void agree(Reference.Exact expected, Result actual, double tolerance, String what) {
        assertArrayEquals(expected.outShape(), actual.outShape(), what);
        double scale = 1;
        for (double x : expected.out()) if (Double.isFinite(x)) scale = Math.max(scale, Math.abs(x));
        for (int i = 0; i < expected.out().length; i++) agree(expected.out()[i], actual.out()[i], tolerance * scale, "out[" + i + "] " + what);
        if (expected.lse() != null) {
            for (int i = 0; i < expected.lse().length; i++) agree(expected.lse()[i], actual.lse()[i], tolerance * Math.max(1, Math.abs(expected.lse()[i])), "lse[" + i + "] " + what);
        } else {
            assertNull(actual.lse());
        }
    }

    static void agree(double expected, double actual, String what) {
        agree(expected, actual, TOLERANCE * Math.max(1, Math.abs(expected)), what);
    }

    private static void agree(double expected, double actual, double tolerance, String what) {
        boolean same = Double.isNaN(expected) ? Double.isNaN(actual)
                : Double.isInfinite(expected) ? expected == actual
                : !Double.isNaN(actual) && Math.abs(expected - actual) <= tolerance;
        assertTrue(same, () -> what + ": expected " + expected + ", got " + actual);
    }
}
