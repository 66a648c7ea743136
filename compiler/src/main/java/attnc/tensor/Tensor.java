package attnc.tensor;

import attnc.ir.DType;
import attnc.ir.Type;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.Buffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.Random;

/**
 * A tensor: a dtype, a shape, and element strides over storage. Storage is a {@code float[]}, an
 * {@code int[]} or a {@link MemorySegment} (heap or native; NIO buffers are wrapped as segments),
 * and a tensor never owns it.
 *
 * <h2>Wrapping and copying</h2>
 * The {@code wrap} factories and {@link #view}/{@link #transpose} make <em>views</em>: the tensor
 * reads (and, as a kernel's output, writes) the caller's memory in place, with no copy. The
 * {@code of...} and {@link #random} factories copy into fresh storage. A segment holds values in
 * the dtype's own encoding (4 bytes for float32 and int32, 2 for bfloat16 and float16, 1 for bool,
 * native byte order); a {@code float[]} holds float32 values, already rounded to the tensor's dtype
 * when {@link #ofFloats} made a bfloat16 or float16 tensor that way.
 *
 * <h2>Layouts</h2>
 * Attention takes Q, K, V and writes the output as [B, H, N, D] <em>logically</em>. Data in
 * [B, N, H, D] (the packed layout of a fused QKV projection) is wrapped with its own shape and
 * {@linkplain #transpose transposed} to [B, H, N, D], which only swaps strides. Any other layout
 * is a {@link #view} with explicit strides.
 *
 * <h2>Lifetimes</h2>
 * A view is valid as long as its storage is: for a segment, while its arena is open. Kernels
 * read inputs and write outputs only during the call that is given them, and keep no reference
 * afterwards; inputs must not change during that call. Kernels run on several threads, so a
 * segment must be readable from any thread ({@code Arena.ofShared()}, {@code ofAuto()} or
 * {@code global()}); a confined segment is refused unless the kernel runs on its caller's thread
 * alone. A tensor is immutable (its storage is the caller's) and safe to share between threads.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    /** Where a tensor's elements are: exactly one of four kinds. */
    public sealed interface Storage {
        /** float32 values (rounded to the tensor's dtype). */
        record Floats(float[] array) implements Storage {}

        /** int32 values, or bool as 0 and 1. */
        record Ints(int[] array) implements Storage {}

        /** Values in the dtype's own encoding, native byte order, unaligned. */
        record Segment(MemorySegment segment) implements Storage {}

        /**
         * Memory on a GPU that the host cannot read: {@code owner} is the runtime's buffer (a
         * {@code DeviceTensor}), which a GPU backend uses in place, of {@code elements} elements.
         */
        record Device(Object owner, long elements) implements Storage {}
    }

    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private final Storage storage;
    private final boolean contiguous;

    private Tensor(DType dtype, int[] shape, long[] strides, long offset, Storage storage) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
        this.storage = storage;
        for (int d : shape) if (d < 0) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative size");
        if (shape.length != strides.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " and strides " + Arrays.toString(strides) + " differ in rank");
        long last = offset;
        for (int i = 0; i < shape.length; i++) {
            if (strides[i] < 0) throw new IllegalArgumentException("strides " + Arrays.toString(strides) + " must not be negative");
            if (shape[i] > 0) last += (shape[i] - 1) * strides[i];
        }
        long capacity = capacity(storage, dtype);
        if (offset < 0 || elementCount(shape) > 0 && last >= capacity) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " with strides " + Arrays.toString(strides) + " from element "
                    + offset + " reaches element " + last + ", past the storage's " + capacity + " " + dtype + " elements");
        }
        this.contiguous = offset == 0 && Arrays.equals(strides, rowMajor(shape));
    }

    // ---- views over the caller's memory (no copy) ----

    /** A float32 view of {@code data} in row-major order; {@code data.length} must be the shape's element count. */
    public static Tensor wrap(float[] data, int... shape) {
        requireLength(data.length, shape);
        return new Tensor(DType.FLOAT32, shape, rowMajor(shape), 0, new Storage.Floats(data));
    }

    /** An int32 view of {@code data} in row-major order. */
    public static Tensor wrap(int[] data, int... shape) {
        requireLength(data.length, shape);
        return new Tensor(DType.INT32, shape, rowMajor(shape), 0, new Storage.Ints(data));
    }

    /**
     * A row-major view of a segment holding {@code dtype} values (bfloat16 and float16 as 16-bit
     * patterns, bool as one byte); its size must be the shape's element count times the dtype's size.
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, int... shape) {
        long expected = elementCount(shape) * dtype.bytes();
        if (segment.byteSize() != expected) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes for " + dtype + Arrays.toString(shape)
                    + ": expected " + expected + " bytes");
        }
        return new Tensor(dtype, shape, rowMajor(shape), 0, new Storage.Segment(segment));
    }

    /**
     * A row-major view of device memory (a GPU backend's buffer, {@code owner}) holding a {@code
     * dtype} tensor of this shape: a GPU backend reads and writes it in place; reading its values on
     * the host is refused.
     */
    public static Tensor onDevice(Object owner, DType dtype, int... shape) {
        return new Tensor(dtype, shape, rowMajor(shape), 0, new Storage.Device(java.util.Objects.requireNonNull(owner, "owner"), elementCount(shape)));
    }

    /** A float32 view of a buffer's remaining elements (heap or direct, native byte order). */
    public static Tensor wrap(FloatBuffer buffer, int... shape) {
        requireNativeOrder(buffer, buffer.order());
        requireLength(buffer.remaining(), shape);
        return wrap(MemorySegment.ofBuffer(buffer), DType.FLOAT32, shape);
    }

    /** A bfloat16 or float16 view of a buffer's remaining elements (16-bit patterns, native byte order). */
    public static Tensor wrap(ShortBuffer buffer, DType dtype, int... shape) {
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) throw new IllegalArgumentException("a ShortBuffer holds bfloat16 or float16, not " + dtype);
        requireNativeOrder(buffer, buffer.order());
        requireLength(buffer.remaining(), shape);
        return wrap(MemorySegment.ofBuffer(buffer), dtype, shape);
    }

    /**
     * This tensor's storage seen with another shape, element strides and first element: any layout
     * whose elements lie in the storage. Strides count elements, not bytes.
     */
    public Tensor view(int[] shape, long[] strides, long offset) {
        return new Tensor(dtype, shape, strides, offset, storage);
    }

    /** The same elements with dimensions {@code a} and {@code b} swapped (strides swapped; nothing moves). */
    public Tensor transpose(int a, int b) {
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(dtype, s, st, offset, storage);
    }

    /**
     * The first {@code columns} elements of the last dimension, in place: the same strides and first
     * element (MLA's values, the first 512 of the latent cache's 576 columns).
     */
    public Tensor leadingColumns(int columns) {
        int[] s = shape.clone();
        int last = s.length - 1;
        if (last < 0 || columns < 0 || columns > s[last]) {
            throw new IllegalArgumentException("leading columns " + columns + " of shape " + Arrays.toString(shape) + ": expected 0 to the last dimension");
        }
        s[last] = columns;
        return new Tensor(dtype, s, strides, offset, storage);
    }

    // ---- fresh storage ----

    /** Zeros in fresh storage of the dtype's own size (bfloat16 and float16 take 2 bytes an element). */
    public static Tensor allocate(DType dtype, int... shape) {
        int n = Math.toIntExact(elementCount(shape));
        Storage storage = switch (dtype) {
            case FLOAT32 -> new Storage.Floats(new float[n]);
            case INT32, BOOL -> new Storage.Ints(new int[n]);
            case BFLOAT16, FLOAT16 -> new Storage.Segment(MemorySegment.ofArray(new short[n]));
        };
        return new Tensor(dtype, shape, rowMajor(shape), 0, storage);
    }

    /** A copy of {@code data} (row-major) rounded to a float dtype, held as float32. */
    public static Tensor ofFloats(DType dtype, int[] shape, float[] data) {
        if (dtype.loadsAs() != Type.FLOAT) throw new IllegalArgumentException(dtype + " is not a float dtype");
        requireLength(data.length, shape);
        float[] rounded = data.clone();
        for (int i = 0; i < rounded.length; i++) rounded[i] = round(dtype, rounded[i]);
        return new Tensor(dtype, shape, rowMajor(shape), 0, new Storage.Floats(rounded));
    }

    /** A copy of {@code data} (row-major) as int32, or as bool (any non-zero is 1). */
    public static Tensor ofInts(DType dtype, int[] shape, int[] data) {
        if (dtype.loadsAs() == Type.FLOAT) throw new IllegalArgumentException(dtype + " is not an int or bool dtype");
        requireLength(data.length, shape);
        int[] copy = data.clone();
        if (dtype == DType.BOOL) for (int i = 0; i < copy.length; i++) copy[i] = copy[i] != 0 ? 1 : 0;
        return new Tensor(dtype, shape, rowMajor(shape), 0, new Storage.Ints(copy));
    }

    /** Uniform values in [-1, 1) (never all zeros), rounded to the dtype. */
    public static Tensor random(DType dtype, int[] shape, Random random) {
        float[] data = new float[Math.toIntExact(elementCount(shape))];
        for (int i = 0; i < data.length; i++) data[i] = random.nextFloat() * 2f - 1f;
        return ofFloats(dtype, shape, data);
    }

    // ---- dtype helpers ----

    public static float round(DType dtype, float x) {
        return switch (dtype) {
            case BFLOAT16 -> bfloat16(x);
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            default -> x;
        };
    }

    /** Round to nearest even bfloat16, the conversion PyTorch and the GPU's cvt.rn.bf16 perform. */
    public static float bfloat16(float x) {
        return Float.intBitsToFloat(bfloat16Bits(x) << 16);
    }

    /** The 16-bit pattern of {@link #bfloat16}: the top half of the rounded float's bits. */
    public static short bfloat16Bits(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return (short) (bits >>> 16 | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    // ---- what a tensor is ----

    public DType dtype() { return dtype; }
    public int[] shape() { return shape.clone(); }
    public int dim(int i) { return shape[i]; }
    public int rank() { return shape.length; }
    public int size() { return Math.toIntExact(elementCount(shape)); }
    public String shapeText() { return Arrays.toString(shape); }

    /** Element strides, one per dimension. */
    public long[] strides() { return strides.clone(); }
    public long stride(int i) { return strides[i]; }

    /** The storage element of index [0, ..., 0]. */
    public long offset() { return offset; }

    /** The storage this tensor views (the caller's array or segment itself). */
    public Storage storage() { return storage; }

    /** Whether the elements are the storage's first {@link #size()} elements, in row-major order. */
    public boolean isContiguous() { return contiguous; }

    // ---- reading and writing elements ----

    /**
     * The values in row-major order as float32: the wrapped array itself when this is a contiguous
     * view of a {@code float[]} of exactly {@link #size()} elements, else a new array.
     */
    public float[] floats() {
        if (dtype.loadsAs() != Type.FLOAT) throw new IllegalStateException(dtype + " tensor has no float data");
        if (contiguous && storage instanceof Storage.Floats(float[] a) && a.length == size()) return a;
        float[] out = new float[size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) getDouble(i);
        return out;
    }

    /** The values in row-major order as ints (bool as 0 and 1): the wrapped array itself when contiguous and exact, else a new array. */
    public int[] ints() {
        if (dtype.loadsAs() == Type.FLOAT) throw new IllegalStateException(dtype + " tensor has no int data");
        if (contiguous && storage instanceof Storage.Ints(int[] a) && a.length == size()) return a;
        int[] out = new int[size()];
        for (int i = 0; i < out.length; i++) out[i] = getInt(i);
        return out;
    }

    /** Element {@code flat} of the row-major order, as a double. */
    public double getDouble(int flat) {
        long at = contiguous ? flat : address(flat);
        return switch (storage) {
            case Storage.Floats(float[] a) -> a[Math.toIntExact(at)];
            case Storage.Ints(int[] a) -> a[Math.toIntExact(at)];
            case Storage.Segment(MemorySegment s) -> switch (dtype) {
                case FLOAT32 -> s.getAtIndex(FLOAT, at);
                case BFLOAT16 -> Float.intBitsToFloat(s.getAtIndex(SHORT, at) << 16);
                case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(SHORT, at));
                case INT32 -> s.getAtIndex(INT, at);
                case BOOL -> s.get(ValueLayout.JAVA_BYTE, at) != 0 ? 1 : 0;
            };
            case Storage.Device(Object owner, long ignored) -> throw onDevice(owner);
        };
    }

    /** The refusal of a host read or write of device memory. */
    private IllegalStateException onDevice(Object owner) {
        return new IllegalStateException(dtype + shapeText() + " lives in GPU memory (" + owner + "): the host cannot read or write it; copy it with"
                + " the device buffer's own methods");
    }

    /** Element {@code flat} of the row-major order as an int (floats are floored). */
    public int getInt(int flat) {
        double v = getDouble(flat);
        return dtype.loadsAs() == Type.FLOAT ? (int) Math.floor(v) : (int) v;
    }

    /**
     * Writes {@code values} (row-major, one per element) into this tensor's storage, rounded to its
     * dtype: how a kernel that cannot write in place fills a caller's output.
     */
    public void copyFrom(float[] values) {
        if (dtype.loadsAs() != Type.FLOAT) throw new IllegalStateException(dtype + " tensor takes no float values");
        requireLength(values.length, shape);
        for (int i = 0; i < values.length; i++) {
            long at = contiguous ? i : address(i);
            switch (storage) {
                case Storage.Floats(float[] a) -> a[Math.toIntExact(at)] = round(dtype, values[i]);
                case Storage.Ints ignored -> throw new IllegalStateException("float tensor over int storage");
                case Storage.Device(Object owner, long ignored) -> throw onDevice(owner);
                case Storage.Segment(MemorySegment s) -> {
                    switch (dtype) {
                        case FLOAT32 -> s.setAtIndex(FLOAT, at, values[i]);
                        case BFLOAT16 -> s.setAtIndex(SHORT, at, bfloat16Bits(values[i]));
                        default -> s.setAtIndex(SHORT, at, Float.floatToFloat16(values[i]));
                    }
                }
            }
        }
    }

    /** The storage element holding row-major element {@code flat}. */
    private long address(long flat) {
        long at = offset;
        for (int i = shape.length - 1; i >= 0; i--) {
            at += flat % shape[i] * strides[i];
            flat /= shape[i];
        }
        return at;
    }

    private static long[] rowMajor(int[] shape) {
        long[] strides = new long[shape.length];
        long step = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = step;
            step *= shape[i];
        }
        return strides;
    }

    private static long capacity(Storage storage, DType dtype) {
        return switch (storage) {
            case Storage.Floats(float[] a) -> {
                if (dtype.loadsAs() != Type.FLOAT) throw new IllegalArgumentException("float[] storage cannot hold " + dtype);
                yield a.length;
            }
            case Storage.Ints(int[] a) -> {
                if (dtype.loadsAs() == Type.FLOAT) throw new IllegalArgumentException("int[] storage cannot hold " + dtype);
                yield a.length;
            }
            case Storage.Segment(MemorySegment s) -> s.byteSize() / dtype.bytes();
            case Storage.Device(Object ignored, long elements) -> elements;
        };
    }

    private static void requireLength(long length, int[] shape) {
        long expected = elementCount(shape);
        if (expected != length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + expected + " elements, got " + length);
    }

    private static void requireNativeOrder(Buffer buffer, ByteOrder order) {
        if (order != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException(buffer.getClass().getSimpleName() + " in " + order + " byte order: kernels read "
                    + ByteOrder.nativeOrder() + "; make the buffer from a ByteBuffer with .order(ByteOrder.nativeOrder())");
        }
    }
}
