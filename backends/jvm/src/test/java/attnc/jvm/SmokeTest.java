package attnc.jvm;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.run.Problem;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void causal() throws Exception {
        Pattern p = Passes.optimize(Frontend.compile("causal", "mask: q >= kv\n"), Map.of());
        Random r = new Random(1);
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 2, 70, 16}, r),
                Tensor.random(DType.FLOAT32, new int[] {1, 2, 70, 16}, r), Tensor.random(DType.FLOAT32, new int[] {1, 2, 70, 16}, r), Map.of());
        Agreement.check(Reference.run(p, problem), new JvmBackend().compile(p).forward(problem), "causal");
    }
}
