package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.emit.BackwardGenerator;
import attnc.jvm.emit.GeneratedKernel;
import attnc.jvm.emit.Slots;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Driver;
import attnc.jvm.kernel.GradDriver;
import attnc.jvm.kernel.GradKernel;
import attnc.jvm.kernel.GradLaunch;
import attnc.jvm.kernel.GradSite;
import attnc.jvm.kernel.KernelLoader;
import attnc.jvm.kernel.Operand;
import attnc.jvm.kernel.TileRows;
import attnc.jvm.sparsity.AnalysedTiles;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.lower.LowerBackward;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pattern's backward pass on the CPU: its generated class ({@link BackwardGenerator}, loaded
 * like the forward's) and what a launch needs to feed it. Built on a kernel's first backward
 * call, so that forward-only use pays nothing for it.
 */
final class JvmBackward {
    private final Pattern pattern;
    private final LoweredBackward lowered;
    private final Slots slots;
    private final GradKernel kernel;

    private JvmBackward(Pattern pattern, LoweredBackward lowered, GradKernel kernel) {
        this.pattern = pattern;
        this.lowered = lowered;
        this.slots = new Slots(pattern);
        this.kernel = kernel;
    }

    /** The backward giving gradients to q, k, v and the float inputs in {@code inputs} (the others' sites left out: no work for them). */
    static JvmBackward compile(Pattern pattern, Tiling tiling, Set<String> inputs, int passBytes) {
        LoweredBackward lowered = LowerBackward.lower(pattern).only(inputs);
        GeneratedKernel generated = BackwardGenerator.generate(lowered, tiling, passBytes);
        return new JvmBackward(pattern, lowered, KernelLoader.load(generated.bytes(), GradKernel.class));
    }

    /** The gradients in {@code wanted}, checked first ({@link BackwardLaunch#of}). */
    Gradients run(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, BackwardOptions options, Driver.Pool pool) {
        BackwardLaunch checked = BackwardLaunch.of(pattern, problem, forward, dOut, wanted);
        Binding binding = checked.binding();
        int b = binding.size("B"), h = binding.size("H"), hkv = binding.size("Hkv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        int d = binding.size("D"), dv = binding.size("Dv");
        Map<Wrt, float[]> values = new LinkedHashMap<>();
        for (Wrt w : Wrt.all(pattern)) {
            if (checked.wanted().contains(w)) values.put(w, new float[Math.toIntExact(Tensor.elementCount(shape(w, problem)))]);
        }
        List<LoweredBackward.Site> sites = lowered.sites();
        GradSite[] kinds = new GradSite[sites.size()];
        float[][] siteGradients = new float[sites.size()][];
        for (int i = 0; i < kinds.length; i++) {
            kinds[i] = BackwardGenerator.kind(sites.get(i));
            siteGradients[i] = values.get(Wrt.input(sites.get(i).input()));
        }
        int tileQ = kernel.tileQ(), tileKv = kernel.tileKv();
        TileRows tiles = lowered.forward().alwaysVisible() ? TileRows.allFull((nkv + tileKv - 1) / tileKv)
                : AnalysedTiles.of(pattern, binding, problem.inputs(), tileQ, tileKv);
        float[] o = forward.preOutput() != null ? forward.preOutput() : forward.out();
        GradLaunch launch = new GradLaunch(Operand.Heap.dense(problem.q().floats(), h, nq, d), Operand.Heap.dense(problem.k().floats(), hkv, nkv, d),
                Operand.Heap.dense(problem.v().floats(), hkv, nkv, dv), slots.env(binding, problem.inputs()), tiles,
                new int[] {b, h, hkv, nq, nkv, d, dv, binding.queryOffset()}, tileQ, tileKv, o, dOut.floats(), forward.lse(),
                values.get(Wrt.Q), values.get(Wrt.K), values.get(Wrt.V), kinds, siteGradients,
                lowered.forward().norm() instanceof LoweredNorm.Sigmoid, options.deterministic());
        GradDriver.run(kernel, launch, new Driver.Pool(pool.executor(), Math.min(pool.parallelism(), options.threads())));
        Map<Wrt, Tensor> gradients = new LinkedHashMap<>();
        // The arrays are this call's own: wrapped, not copied.
        values.forEach((w, data) -> gradients.put(w, Tensor.wrap(data, shape(w, problem))));
        return new Gradients(gradients);
    }

    /** A gradient has the shape of what it is the gradient of. */
    private static int[] shape(Wrt w, Problem problem) {
        return switch (w) {
            case Wrt.Operand operand -> switch (operand) {
                case Q -> problem.q().shape();
                case K -> problem.k().shape();
                case V -> problem.v().shape();
            };
            case Wrt.Input(String name) -> problem.inputs().get(name).shape();
        };
    }
}
