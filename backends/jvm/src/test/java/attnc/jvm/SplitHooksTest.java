package attnc.jvm;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.emit.BackwardGenerator;
import attnc.jvm.emit.KernelGenerator;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Lanes;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.lower.LowerBackward;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.reference.ReferenceBackward;
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
import net.jqwik.api.statistics.Statistics;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Hooks split into passes compute what whole ones do: random patterns ({@link RandomPatterns}),
 * generated with a pass budget of 100 to 240 bytes instead of C2's 325, so that nearly every mask
 * and score is cut into passes that hand registers of every level (per call, row, column and
 * element) and type (int, float, boolean) to later ones through the spill arrays, agree with the
 * reference forward (the tile kernel, and the decode kernel where Nq ≤ 16) and backward (every
 * gradient, deterministic or not). A value spilled to the wrong place, or read before it is
 * written, changes the output by far more than the fp32 tolerance.
 */
class SplitHooksTest {

    /** B, Hkv, GQA group, Nq, Nkv, D, Dv, query offset (−1: bottom-right), tile q in vectors, tile kv, pass budget, deterministic. */
    record Shape(int batch, int kvHeads, int group, int nq, int nkv, int d, int dv, int offset, int tileQ, int tileKv, int passBytes,
                 boolean deterministic) {
        int heads() { return kvHeads * group; }
    }

    @Provide
    Arbitrary<Shape> shapes() {
        return Combinators.combine(
                Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2), Arbitraries.of(1, 2),
                        Arbitraries.integers().between(1, 70), Arbitraries.integers().between(1, 140)).as(List::of),
                Arbitraries.of(16, 32, 64), Arbitraries.of(0, 8), Arbitraries.integers().between(-1, 30), Arbitraries.of(1, 2, 4),
                Arbitraries.of(4, 12, 64), Arbitraries.of(100, 160, 240), Arbitraries.of(false, true))
                .as((l, d, dvDelta, offset, tq, tk, budget, deterministic) -> new Shape(l.get(0), l.get(1), l.get(2), l.get(3), l.get(4),
                        d, d + dvDelta, offset, tq, tk, budget, deterministic));
    }

    /** As {@link GradientPropertiesTest}'s: no kinks in s, where fp32 and double may take different sides. */
    @Provide
    Arbitrary<RandomPatterns.Case> patterns() { return RandomPatterns.cases().filter(c -> !c.source().contains("abs(s)")); }

    @Property(tries = 150)
    void splitHooksAgreeWithReference(@ForAll("patterns") RandomPatterns.Case c, @ForAll("shapes") Shape s, @ForAll long seed) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile("random", c.source()), Map.of());
        Tiling tiling = new Tiling(s.tileQ() * Lanes.L, s.tileKv());
        boolean split = hasPasses(KernelGenerator.generate(LowerPattern.lower(pattern), tiling, s.passBytes()).bytes())
                || hasPasses(BackwardGenerator.generate(LowerBackward.lower(pattern), tiling, s.passBytes()).bytes());
        Statistics.label("some hook split into passes").collect(split);
        Statistics.label("some hook split into passes").coverage(coverage -> coverage.check(true).percentage(p -> p >= 60));

        Random r = new Random(seed);
        Problem problem = new Problem(
                Tensor.random(DType.FLOAT32, new int[] {s.batch(), s.heads(), s.nq(), s.d()}, r),
                Tensor.random(DType.FLOAT32, new int[] {s.batch(), s.kvHeads(), s.nkv(), s.d()}, r),
                Tensor.random(DType.FLOAT32, new int[] {s.batch(), s.kvHeads(), s.nkv(), s.dv()}, r),
                RandomPatterns.inputs(c.inputs(), s.batch(), s.heads(), s.nkv(), s.dv(), r), Map.of(), s.offset());
        JvmKernel kernel = new JvmBackend().compile(pattern, tiling, s.passBytes());
        String what = c.source() + " at " + s;
        Result forward = kernel.forward(problem);
        Agreement.check(Reference.run(pattern, problem), forward, what);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {s.batch(), s.heads(), s.nq(), s.dv()}, r);
        var options = new BackwardOptions(s.deterministic(), attnc.jvm.kernel.Driver.Pool.shared().parallelism());
        GradientAgreement.check(ReferenceBackward.run(pattern, problem, forward, dOut, Wrt.all(pattern)),
                kernel.backward(problem, forward, dOut, Wrt.all(pattern), options), Wrt.all(pattern), GradientAgreement.terms(problem), what);
    }

    /** Whether a generated class has a hook's pass ({@code name$0}). */
    static boolean hasPasses(byte[] bytes) {
        boolean[] found = {false};
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                found[0] |= name.endsWith("$0");
                return null;
            }
        }, ClassReader.SKIP_CODE);
        return found[0];
    }
}
