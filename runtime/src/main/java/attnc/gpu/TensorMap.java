package attnc.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import attnc.ir.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * A TMA tensor map (CUtensorMap, 128 opaque bytes) describing how a kernel's bulk tensor copies
 * read a device tensor: its dims innermost first, the byte strides of the outer dims, the box one
 * copy moves and the shared-memory swizzle. Encoded by the driver's {@code cuTensorMapEncodeTiled},
 * which JCuda does not wrap, called here through the Foreign Function API; passed to a kernel by
 * value ({@link GpuFunction.Args#bytes}). Elements outside the dims read as zero.
 */
public final class TensorMap {
    /** Shared-memory layouts a box can be written in; 128-byte rows swizzled in 16-byte chunks is what wgmma reads fastest. */
    public enum Swizzle { NONE, BYTES_32, BYTES_64, BYTES_128 }

    public static final int BYTES = 128;
    private static final int DATA_TYPE_FLOAT16 = 6, DATA_TYPE_FLOAT32 = 7, DATA_TYPE_BFLOAT16 = 9, INTERLEAVE_NONE = 0, L2_PROMOTION_128B = 2,
            FILL_ZERO = 0;
    private static volatile MethodHandle encode;

    private TensorMap() {}

    /**
     * The tensor map of a bfloat16, float16 or float32 {@code tensor} seen as {@code dims}
     * (innermost first, in elements) with the given byte strides of dims 1.. and a {@code box} per copy.
     */
    public static byte[] tiled(DeviceTensor tensor, long[] dims, long[] strideBytes, int[] box, Swizzle swizzle) {
        int dataType = switch (tensor.dtype()) {
            case BFLOAT16 -> DATA_TYPE_BFLOAT16;
            case FLOAT16 -> DATA_TYPE_FLOAT16;
            case FLOAT32 -> DATA_TYPE_FLOAT32;
            default -> throw new IllegalArgumentException("tensor maps here describe bfloat16, float16 or float32 tensors, got " + tensor.dtype());
        };
        if (strideBytes.length != dims.length - 1 || box.length != dims.length) {
            throw new IllegalArgumentException("a rank-" + dims.length + " map needs " + (dims.length - 1) + " strides and " + dims.length + " box dims");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(BYTES, 64);
            MemorySegment elementStrides = arena.allocate(JAVA_INT, dims.length);
            for (int i = 0; i < dims.length; i++) elementStrides.setAtIndex(JAVA_INT, i, 1);
            int result = (int) function().invokeExact(map, dataType,
                    dims.length, MemorySegment.ofAddress(tensor.address()), arena.allocateFrom(JAVA_LONG, dims),
                    arena.allocateFrom(JAVA_LONG, strideBytes), arena.allocateFrom(JAVA_INT, box), elementStrides,
                    INTERLEAVE_NONE, swizzle.ordinal(), L2_PROMOTION_128B, FILL_ZERO);
            Cuda.check("cuTensorMapEncodeTiled(dims " + java.util.Arrays.toString(dims) + ", box " + java.util.Arrays.toString(box) + ")", result);
            return map.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot call cuTensorMapEncodeTiled: " + e, e);
        }
    }

    private static MethodHandle function() {
        MethodHandle known = encode;
        if (known != null) return known;
        Cuda.init();
        MemorySegment symbol = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()).find("cuTensorMapEncodeTiled")
                .orElseThrow(() -> new IllegalStateException("this CUDA driver has no cuTensorMapEncodeTiled (it needs CUDA 12 or newer)"));
        known = Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        encode = known;
        return known;
    }
}
