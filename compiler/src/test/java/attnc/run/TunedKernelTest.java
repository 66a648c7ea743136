package attnc.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class TunedKernelTest {
    /** A kernel that times itself its own way (as a GPU kernel times device work on resident data). */
    private static final class SelfTiming implements Kernel {
        private final Pattern pattern;
        int problemsSeen;

        SelfTiming(Pattern pattern) { this.pattern = pattern; }

        @Override public Pattern pattern() { return pattern; }

        @Override public Result forward(Problem problem) { throw new AssertionError("the tuned wrapper must not time whole calls"); }

        @Override
        public double medianMillis(Supplier<Problem> freshInputs, int warmups, int repeats) {
            for (int i = 0; i < warmups + repeats; i++) freshInputs.get();
            problemsSeen = warmups + repeats;
            return 0.125;
        }
    }

    @Test
    void timesTheKernelItWouldLaunchAsThatKernelTimesItself() throws Exception {
        Pattern causal = Frontend.compile("causal", "mask: q >= kv");
        SelfTiming inner = new SelfTiming(causal);
        Backend backend = new Backend() {
            @Override public String name() { return "self-timing"; }
            @Override public Kernel compile(Pattern pattern) { return inner; }
        };
        TuningLookup none = (pattern, binding, dtype, name, device) -> Optional.empty();
        Random random = new Random(1);
        Supplier<Problem> problems = () -> new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 1, 4, 4}, random),
                Tensor.random(DType.FLOAT32, new int[] {1, 1, 4, 4}, random), Tensor.random(DType.FLOAT32, new int[] {1, 1, 4, 4}, random), Map.of());
        try (TunedKernel tuned = new TunedKernel(backend, causal, none)) {
            assertEquals(0.125, tuned.medianMillis(problems, 2, 3));
        }
        assertEquals(5, inner.problemsSeen, "the first problem, used to pick the kernel, is handed on, not dropped");
    }
}
