package attnc.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.reference.Reference;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TunerTest {
    /** A backend whose configurations differ only in how slow (or how wrong) they are. */
    private static final class FakeBackend implements Backend {
        @Override public String name() { return "fake"; }

        @Override public Kernel compile(Pattern pattern) { return kernel(pattern, 4, false); }

        @Override
        public List<TuningConfig> configurations(Pattern pattern, Binding binding) {
            return List.of(TuningConfig.parse("sleep=8"), TuningConfig.parse("sleep=4"), TuningConfig.parse("sleep=1"),
                    TuningConfig.parse("sleep=0,wrong=1"));
        }

        @Override
        public java.util.Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) {
            return java.util.Optional.of(TuningConfig.parse("sleep=4"));
        }

        @Override
        public Kernel compile(Pattern pattern, TuningConfig config) {
            return kernel(pattern, config.get("sleep", 0), config.get("wrong", 0) == 1);
        }

        private static Kernel kernel(Pattern pattern, int sleepMillis, boolean wrong) {
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }

                @Override
                public Result forward(Problem problem) {
                    try {
                        Thread.sleep(sleepMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Result exact = Reference.run(pattern, problem).toResult();
                    if (wrong) exact.out()[0] += 0.5f;
                    return exact;
                }
            };
        }
    }

    @Test
    void picksTheFastestCorrectConfigurationAndRejectsWrongOnes() throws Exception {
        Pattern pattern = Frontend.compile("causal", "mask: q >= kv\n");
        Random random = new Random(3);
        int[] shape = {1, 1, 16, 8};
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Tuner tuner = new Tuner(new FakeBackend(), pattern, () -> new Problem(Tensor.random(DType.FLOAT32, shape, random),
                Tensor.random(DType.FLOAT32, shape, random), Tensor.random(DType.FLOAT32, shape, random), Map.of()),
                new PrintStream(progress), 1, 3);
        Tuner.Outcome outcome = tuner.tune();
        assertEquals(TuningConfig.parse("sleep=1"), outcome.best());
        assertTrue(outcome.speedup() > 1.5, "default sleeps 4 ms, best 1 ms: " + outcome);
        Tuner.Trial wrong = outcome.trials().get(2);
        assertNotNull(wrong.rejected());
        assertTrue(wrong.rejected().contains("differs"), wrong.rejected());
        assertNull(outcome.trials().get(1).rejected());
        assertTrue(progress.toString().contains("3/3"), "the default (sleep=4) is not timed again as a candidate: " + progress);
        assertEquals(3, outcome.trials().size());
    }
}
