package attnc.bench;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.JvmBackend;
import attnc.jvm.JvmKernel;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * One pattern's JVM forward for 6 s, then its backward for 8 s, on B = 1, H = 4, N = 512, D = 64:
 * a load for a profiler, so that {@code bench/cpu/fallback_survey.sh} can tell from a JFR
 * recording how much of each phase's steady state runs in the Vector API's Java fallbacks (what
 * C2 leaves behind when a generated hook's calls are not inlined). Usage: {@code HookLoop FILE}.
 */
public final class HookLoop {
    private HookLoop() {}

    public static void main(String[] args) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(Path.of(args[0])), Map.of());
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Problem problem = SampleProblems.of(pattern, new SampleProblems.Shape(1, 4, 4, 512, 512, 64, -1), DType.FLOAT32, new Random(1));
        Result result = null;
        for (long end = System.nanoTime() + 6_000_000_000L; System.nanoTime() < end; ) result = kernel.forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {1, 4, 512, 64}, new Random(2));
        for (long end = System.nanoTime() + 8_000_000_000L; System.nanoTime() < end; ) kernel.backward(problem, result, dOut);
    }
}
