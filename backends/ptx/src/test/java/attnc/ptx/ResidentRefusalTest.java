package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Tensors on the GPU are refused where the backend would copy them from the host, and a resident
 * launch that is not whole is refused before any device work (this runs without a GPU: the
 * "device" tensors here are views over a stand-in owner).
 */
class ResidentRefusalTest {
    private static final Object NOT_A_BUFFER = "a stand-in owner";

    private final Pattern alibi = Patterns.compile(Path.of("../../examples/alibi.attn"));
    private final Problem host = SampleProblems.of(alibi, new SampleProblems.Shape(1, 2, 1, 40, 40, 64, 0), DType.BFLOAT16, new Random(3));

    private static Tensor onDevice(Tensor like, DType dtype) {
        return Tensor.onDevice(NOT_A_BUFFER, dtype, like.shape());
    }

    private Problem withDeviceQ() {
        return new Problem(onDevice(host.q(), DType.BFLOAT16), host.k(), host.v(), host.inputs());
    }

    @Test
    void deviceOperandsWithAHostResultAreRefusedNamingTheWayIn() {
        Kernel kernel = new PtxBackend().compile(alibi);
        var e = assertThrows(ShapeException.class, () -> kernel.forward(withDeviceQ()));
        assertTrue(e.getMessage().startsWith("q: the tensor lives in GPU memory") && e.getMessage().contains("forward(problem, out, lse)"), e.getMessage());
        Tensor hostOut = Tensor.allocate(DType.FLOAT32, 1, 2, 40, 64);
        assertThrows(ShapeException.class, () -> kernel.forward(withDeviceQ(), hostOut, null));
    }

    @Test
    void aDeviceInputIsRefused() {
        Kernel kernel = new PtxBackend().compile(alibi);
        Problem deviceSlopes = new Problem(host.q(), host.k(), host.v(), Map.of("slopes", onDevice(host.inputs().get("slopes"), DType.FLOAT32)));
        Tensor out = Tensor.onDevice(NOT_A_BUFFER, DType.FLOAT32, 1, 2, 40, 64);
        var e = assertThrows(ShapeException.class, () -> kernel.forward(deviceSlopes, out, null));
        assertTrue(e.getMessage().startsWith("input 'slopes': the tensor lives in GPU memory") && e.getMessage().contains("host memory"), e.getMessage());
    }

    @Test
    void aResidentLaunchNeedsEveryOperandWholeOnTheDevice() {
        Kernel kernel = new PtxBackend().compile(alibi);
        Tensor out = Tensor.onDevice(NOT_A_BUFFER, DType.FLOAT32, 1, 2, 40, 64);
        var hostQ = assertThrows(ShapeException.class, () -> kernel.forward(host, out, null));
        assertTrue(hostQ.getMessage().startsWith("q: expected a tensor on the GPU like out") && hostQ.getMessage().endsWith("got one in host memory"),
                hostQ.getMessage());
        Problem stand = new Problem(onDevice(host.q(), DType.BFLOAT16), onDevice(host.k(), DType.BFLOAT16), onDevice(host.v(), DType.BFLOAT16), host.inputs());
        var notABuffer = assertThrows(ShapeException.class, () -> kernel.forward(stand, out, null));
        assertTrue(notABuffer.getMessage().startsWith("q: expected a whole DeviceTensor"), notABuffer.getMessage());
        var wrongShape = assertThrows(ShapeException.class, () -> kernel.forward(stand, Tensor.onDevice(NOT_A_BUFFER, DType.FLOAT32, 1, 2, 40, 32), null));
        assertTrue(wrongShape.getMessage().startsWith("out: expected shape [1, 2, 40, 64]"), wrongShape.getMessage());
    }
}
