package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertFalse;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.kernel.Lanes;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random patterns × random shapes and tile sizes: the generated kernel agrees with the reference. */
class DifferentialPropertiesTest {

    /**
     * B, Hkv, GQA group, Nq, Nkv, D, Dv, query offset (−1: bottom-right), tile q (in vectors; 0: one
     * of the backend's {@link JvmBackend#configurations}, picked by the seed, so every configuration
     * the tuner may choose is covered), tile kv.
     */
    record Shape(int batch, int kvHeads, int group, int nq, int nkv, int d, int dv, int offset, int tileQ, int tileKv, DType dtype) {
        int heads() { return kvHeads * group; }
    }

    @Provide
    Arbitrary<Shape> shapes() {
        Arbitrary<Integer> dims = Arbitraries.of(8, 16, 20, 32, 64, 72, 128, 8, 16, 32, 64, 40, 256);
        return Combinators.combine(
                Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2),
                        Arbitraries.of(1, 2, 3), Arbitraries.integers().between(1, 90), Arbitraries.integers().between(1, 170)).as(java.util.List::of),
                dims, Arbitraries.of(0, 0, 8, -8), Arbitraries.integers().between(-1, 40),
                Arbitraries.of(0, 0, 1, 4, 8), Arbitraries.of(4, 12, 64, 64, 128), Arbitraries.of(DType.FLOAT32, DType.FLOAT32, DType.BFLOAT16, DType.FLOAT16))
                .as((l, d, dvDelta, offset, tq, tk, dtype) -> new Shape(l.get(0), l.get(1), l.get(2), l.get(3), l.get(4),
                        d, Math.max(8, d + dvDelta), offset, tq, tk, dtype));
    }

    @Provide
    Arbitrary<RandomPatterns.Case> patterns() { return RandomPatterns.cases(); }

    @Property(tries = 2000)
    void kernelAgreesWithReference(@ForAll("patterns") RandomPatterns.Case c, @ForAll("shapes") Shape s, @ForAll long seed) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("random", c.source()), Map.of());
        Random r = new Random(seed);
        Problem problem = new Problem(
                Tensor.random(s.dtype(), new int[] {s.batch(), s.heads(), s.nq(), s.d()}, r),
                Tensor.random(s.dtype(), new int[] {s.batch(), s.kvHeads(), s.nkv(), s.d()}, r),
                Tensor.random(s.dtype(), new int[] {s.batch(), s.kvHeads(), s.nkv(), s.dv()}, r),
                RandomPatterns.inputs(c.inputs(), s.batch(), s.heads(), s.nkv(), s.dv(), r), Map.of(), s.offset());
        JvmBackend backend = new JvmBackend();
        String tiles;
        JvmKernel kernel;
        if (s.tileQ() == 0) {
            List<TuningConfig> space = backend.configurations(pattern, Binding.of(pattern, problem));
            assertFalse(space.isEmpty(), "no configuration offered for " + s);
            TuningConfig config = space.get(r.nextInt(space.size()));
            tiles = "configuration " + config;
            kernel = backend.compile(pattern, config);
        } else {
            tiles = "tiles " + s.tileQ() * Lanes.L + "x" + s.tileKv();
            kernel = backend.compile(pattern, new attnc.jvm.emit.Tiling(s.tileQ() * Lanes.L, s.tileKv()));
        }
        Agreement.check(Reference.run(pattern, problem), kernel.forward(problem), c.source() + " at " + s + ", " + tiles);
    }
}
