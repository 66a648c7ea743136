package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.ptx.emit.BackwardConfig;
import attnc.reference.ReferenceBackend;
import attnc.tensor.Tensor;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** What the GPU backward refuses, it refuses before touching a device (this runs without one), saying what it takes and what came. */
class BackwardRefusalTest {

    private static Problem problem(Pattern pattern, int headDim) {
        return SampleProblems.of(pattern, new SampleProblems.Shape(1, 2, 1, 40, 40, headDim, 0), DType.BFLOAT16, new Random(3));
    }

    private static Tensor dOut(Problem problem) {
        return Tensor.random(DType.BFLOAT16, new int[] {1, 2, 40, problem.v().dim(3)}, new Random(4));
    }

    @Test
    void headDimsPastTheAccumulatorsAreRefusedWithExpectedAndActual() {
        Pattern causal = Patterns.compile(Path.of("../../examples/causal.attn"));
        Problem problem = problem(causal, 256);
        Result forward = new ReferenceBackend().compile(causal).forward(problem);
        var e = assertThrows(ShapeException.class, () -> new PtxBackend().compile(causal).backward(problem, forward, dOut(problem)));
        assertTrue(e.getMessage().contains("D + Dv up to 320") && e.getMessage().contains("D = 256, Dv = 256"), e.getMessage());
        assertNull(BackwardConfig.headDimRefusal(192, 128), "MLA's head dims");
        assertNull(BackwardConfig.headDimRefusal(160, 160));
        assertEquals(32, BackwardConfig.mmaSync(90, DType.BFLOAT16, 192, 128).blockQ(), "the 8-warp kernel of 64-query tiles spills there");
        assertEquals(8, BackwardConfig.mmaSync(90, DType.BFLOAT16, 192, 128).warps());
        assertEquals(4, BackwardConfig.mmaSync(80, DType.BFLOAT16, 192, 128).warps(), "sm_86's 99 KiB take 4 warps' tiles");
        assertEquals(64, BackwardConfig.mmaSync(90, DType.BFLOAT16, 128, 128).blockQ());
    }
}
