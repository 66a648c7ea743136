package attnc.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** This module's tests have only the reference backend on their class path: what a user who forgot a backend artifact sees. */
class AttncTest {

    @Test
    void aMissingBackendNamesTheArtifactToAdd() {
        var e = assertThrows(IllegalArgumentException.class, () -> Attnc.compile("t.attn", "mask: q >= kv\n", "jvm", Map.of()));
        assertEquals("unknown backend 'jvm': its artifact is not on the class path; add the dependency dev.attnc:attnc-backend-jvm"
                + " (the version of attnc-compiler, or import dev.attnc:attnc-bom); backends on the class path: reference", e.getMessage());
    }

    @Test
    void anUnknownNameListsEveryBackendWithItsArtifact() {
        var e = assertThrows(IllegalArgumentException.class, () -> Attnc.compile("t.attn", "mask: q >= kv\n", "cuda", Map.of()));
        assertEquals("unknown backend 'cuda'; expected one of jvm (dev.attnc:attnc-backend-jvm), ptx (dev.attnc:attnc-backend-ptx),"
                + " reference (dev.attnc:attnc-compiler); backends on the class path: reference", e.getMessage());
    }

    /** Backends that do not write in place (here the reference) fill the caller's tensors from their result. */
    @Test
    void forwardIntoACallersTransposedBufferMatchesForward() throws Exception {
        var random = new java.util.Random(4);
        int[] shape = {1, 2, 9, 4};
        var q = attnc.tensor.Tensor.random(attnc.ir.DType.FLOAT32, shape, random);
        var problem = new attnc.launch.Problem(q, q, q, Map.of());
        try (Kernel kernel = Attnc.compile("t.attn", "mask: q >= kv\n", "reference", Map.of())) {
            var want = kernel.forward(problem);
            float[] bnhd = new float[want.out().length], lse = new float[2 * 9];
            kernel.forward(problem, attnc.tensor.Tensor.wrap(bnhd, 1, 9, 2, 4).transpose(1, 2), attnc.tensor.Tensor.wrap(lse, 1, 2, 9));
            for (int h = 0; h < 2; h++) for (int n = 0; n < 9; n++) for (int d = 0; d < 4; d++) {
                assertEquals(want.out()[(h * 9 + n) * 4 + d], bnhd[(n * 2 + h) * 4 + d], "out[" + h + ", " + n + ", " + d + "]");
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(want.lse(), lse);
        }
    }

    @Test
    void generatedWrappersLoadingAMissingBackendGetTheSameMessage() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Attnc.loadPrecompiled(AttncTest.class, "t", "mask: q >= kv\n", "jvm", List.of("kernel.json")));
        assertEquals(Attnc.unknownBackend("jvm").getMessage(), e.getMessage());
    }
}
