package attnc.jvm;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Driver;
import attnc.jvm.kernel.Lanes;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.pass.Passes;
import attnc.reference.ReferenceBackward;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random patterns (every score modifier, norm and output transform of {@link RandomPatterns}) ×
 * random shapes (odd N, Nq ≠ Nkv, query offsets, GQA groups of 1 to 3, D from 16 to 256, Dv ≠ D)
 * × fp32, bf16 and fp16 storage × tile sizes × deterministic or not, on one thread or all:
 * the JVM backward's gradients agree with the reference's ({@link GradientAgreement}), for every
 * gradient or a random subset of them.
 */
class GradientPropertiesTest {

    /** B, Hkv, GQA group, Nq, Nkv, D, Dv, query offset (−1: bottom-right), tile q in vectors (0: default) and kv, dtype, mode. */
    record Shape(int batch, int kvHeads, int group, int nq, int nkv, int d, int dv, int offset, int tileQ, int tileKv, DType dtype,
                 boolean deterministic, boolean oneThread) {
        int heads() { return kvHeads * group; }
    }

    @Provide
    Arbitrary<Shape> shapes() {
        Arbitrary<Integer> dims = Arbitraries.of(16, 20, 32, 40, 64, 72, 128, 16, 32, 64, 256);
        return Combinators.combine(
                Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2),
                        Arbitraries.of(1, 2, 3), Arbitraries.integers().between(1, 90), Arbitraries.integers().between(1, 170)).as(List::of),
                dims, Arbitraries.of(0, 0, 8, -8, 24), Arbitraries.integers().between(-1, 40),
                Arbitraries.of(0, 0, 1, 2, 4), Arbitraries.of(4, 12, 32, 64, 128), Arbitraries.of(DType.FLOAT32, DType.FLOAT32, DType.BFLOAT16, DType.FLOAT16),
                Combinators.combine(Arbitraries.of(false, true), Arbitraries.of(false, true)).as(List::of))
                .as((l, d, dvDelta, offset, tq, tk, dtype, mode) -> new Shape(l.get(0), l.get(1), l.get(2), l.get(3), l.get(4),
                        d, Math.max(16, d + dvDelta), offset, tq, tk, dtype, mode.get(0), mode.get(1)));
    }

    /**
     * The random patterns but the score with kinks in s ({@code max(s, -0.5) + sqrt(abs(s) + 0.25)}):
     * where an s lies within rounding of a kink, the kernel's fp32 s and the reference's double one
     * fall on different sides and the derivatives differ by a jump (dq off by 3e-3 against a
     * tolerance of 1e-5, seen once in a full run). abs of s stays covered by GradientBehaviourTest's
     * fixed pattern; kinks in integer index arithmetic, which rounding cannot move, stay in.
     */
    @Provide
    Arbitrary<RandomPatterns.Case> patterns() { return RandomPatterns.cases().filter(c -> !c.source().contains("abs(s)")); }

    @Property(tries = 500)
    void gradientsAgreeWithReference(@ForAll("patterns") RandomPatterns.Case c, @ForAll("shapes") Shape s, @ForAll long seed) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("random", c.source()), Map.of());
        Random r = new Random(seed);
        Problem problem = new Problem(
                Tensor.random(s.dtype(), new int[] {s.batch(), s.heads(), s.nq(), s.d()}, r),
                Tensor.random(s.dtype(), new int[] {s.batch(), s.kvHeads(), s.nkv(), s.d()}, r),
                Tensor.random(s.dtype(), new int[] {s.batch(), s.kvHeads(), s.nkv(), s.dv()}, r),
                RandomPatterns.inputs(c.inputs(), s.batch(), s.heads(), s.nkv(), s.dv(), r), Map.of(), s.offset());
        JvmKernel kernel = s.tileQ() == 0 ? new JvmBackend().compile(pattern)
                : new JvmBackend().compile(pattern, new Tiling(s.tileQ() * Lanes.L, s.tileKv()));
        Result forward = kernel.forward(problem);
        Tensor dOut = Tensor.random(s.dtype(), new int[] {s.batch(), s.heads(), s.nq(), s.dv()}, r);
        Set<Wrt> wanted = wanted(pattern, r);
        var options = new BackwardOptions(s.deterministic(), s.oneThread() ? 1 : Driver.Pool.shared().parallelism());
        GradientAgreement.check(ReferenceBackward.run(pattern, problem, forward, dOut, Wrt.all(pattern)),
                kernel.backward(problem, forward, dOut, wanted, options), wanted, GradientAgreement.terms(problem), c.source() + " at " + s + ", wanted " + wanted);
    }

    /** Every gradient three times in four; else a random non-empty subset. */
    private static Set<Wrt> wanted(Pattern pattern, Random r) {
        List<Wrt> all = new ArrayList<>(Wrt.all(pattern));
        if (r.nextInt(4) != 0) return new LinkedHashSet<>(all);
        Set<Wrt> some = new LinkedHashSet<>();
        for (Wrt w : all) if (r.nextBoolean()) some.add(w);
        if (some.isEmpty()) some.add(all.get(r.nextInt(all.size())));
        return some;
    }
}
