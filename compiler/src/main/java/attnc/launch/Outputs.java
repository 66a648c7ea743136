package attnc.launch;

import attnc.ir.DType;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Checks the tensors a caller gives a kernel to write into, before any work: the output
 * [B, H, Nq, Dv] (float32, bfloat16 or float16, any strides) and the LSE [B, H, Nq] (float32,
 * softmax patterns only), or for a ragged launch [totalQ, H, Dv] and [totalQ, H]. Every mismatch is a {@link ShapeException} with expected and actual.
 */
public final class Outputs {
    private Outputs() {}

    public static void check(Pattern pattern, Binding binding, Tensor out, Tensor lse) {
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
        check(pattern, out, new int[] {b, h, nq, dv}, "[B, H, Nq, Dv]", lse, new int[] {b, h, nq}, "[B, H, Nq]");
    }

    /** The same for a ragged launch: the output [totalQ, H, Dv] and the LSE [totalQ, H]. */
    public static void check(Pattern pattern, RaggedBinding binding, Tensor out, Tensor lse) {
        int rows = binding.totalQueries(), h = binding.heads();
        check(pattern, out, new int[] {rows, h, binding.valueDim()}, "[totalQ, H, Dv]", lse, new int[] {rows, h}, "[totalQ, H]");
    }

    private static void check(Pattern pattern, Tensor out, int[] outShape, String outLayout, Tensor lse, int[] lseShape, String lseLayout) {
        if (out == null) throw new ShapeException("out: missing; expected a tensor " + outLayout + " = " + Arrays.toString(outShape));
        require("out", out, outShape, outLayout);
        if (out.dtype() != DType.FLOAT32 && out.dtype() != DType.BFLOAT16 && out.dtype() != DType.FLOAT16) {
            throw new ShapeException("out: expected dtype float32, bfloat16 or float16, got " + out.dtype());
        }
        if (lse == null) return;
        if (!(pattern.norm() instanceof Norm.Softmax)) {
            String norm = pattern.norm() instanceof Norm.Sigmoid ? "sigmoid" : "none";
            throw new ShapeException("lse: pattern '" + pattern.name() + "' has norm " + norm + ", which has no log-sum-exp; expected no lse tensor (null)");
        }
        require("lse", lse, lseShape, lseLayout);
        if (lse.dtype() != DType.FLOAT32) throw new ShapeException("lse: expected dtype float32, got " + lse.dtype());
    }

    private static void require(String name, Tensor t, int[] expected, String layout) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new ShapeException(name + ": expected shape " + Arrays.toString(expected) + " " + layout + ", got " + t.shapeText());
        }
        if (t.storage() instanceof Tensor.Storage.Segment(MemorySegment s) && s.isReadOnly()) {
            throw new ShapeException(name + ": the segment is read-only; expected writable memory for the kernel's output");
        }
    }
}
