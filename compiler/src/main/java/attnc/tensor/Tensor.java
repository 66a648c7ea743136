package attnc.tensor;

import attnc.ir.DType;
import java.util.Arrays;
import java.util.Random;

/**
 * A dense, row-major host tensor. Float dtypes hold their values as floats already rounded to the
 * dtype (a bfloat16 tensor holds bfloat16 values); int32 and bool hold ints (bool as 0 or 1).
 */
public final class Tensor {
    private final DType dtype;
    private final int[] shape;
    private final float[] floats;
    private final int[] ints;

    private Tensor(DType dtype, int[] shape, float[] floats, int[] ints) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.floats = floats;
        this.ints = ints;
        long expected = elementCount(shape);
        long actual = floats != null ? floats.length : ints.length;
        if (expected != actual) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + expected + " elements, got " + actual);
    }

    public static Tensor ofFloats(DType dtype, int[] shape, float[] data) {
        if (dtype.loadsAs() != attnc.ir.Type.FLOAT) throw new IllegalArgumentException(dtype + " is not a float dtype");
        float[] rounded = data.clone();
        for (int i = 0; i < rounded.length; i++) rounded[i] = round(dtype, rounded[i]);
        return new Tensor(dtype, shape, rounded, null);
    }

    public static Tensor ofInts(DType dtype, int[] shape, int[] data) {
        if (dtype.loadsAs() == attnc.ir.Type.FLOAT) throw new IllegalArgumentException(dtype + " is not an int or bool dtype");
        int[] copy = data.clone();
        if (dtype == DType.BOOL) for (int i = 0; i < copy.length; i++) copy[i] = copy[i] != 0 ? 1 : 0;
        return new Tensor(dtype, shape, null, copy);
    }

    /** Uniform values in [-1, 1) (never all zeros), rounded to the dtype. */
    public static Tensor random(DType dtype, int[] shape, Random random) {
        float[] data = new float[Math.toIntExact(elementCount(shape))];
        for (int i = 0; i < data.length; i++) data[i] = random.nextFloat() * 2f - 1f;
        return ofFloats(dtype, shape, data);
    }

    public static float round(DType dtype, float x) {
        return switch (dtype) {
            case BFLOAT16 -> bfloat16(x);
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            default -> x;
        };
    }

    /** Round to nearest even bfloat16, the conversion PyTorch and the GPU's cvt.rn.bf16 perform. */
    public static float bfloat16(float x) {
        if (Float.isNaN(x)) return x;
        int bits = Float.floatToRawIntBits(x);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat((bits + rounding) & 0xFFFF0000);
    }

    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public DType dtype() { return dtype; }
    public int[] shape() { return shape.clone(); }
    public int dim(int i) { return shape[i]; }
    public int rank() { return shape.length; }
    public int size() { return floats != null ? floats.length : ints.length; }

    /** The backing floats, not a copy: kernels read them directly. Empty-handed for int tensors. */
    public float[] floats() {
        if (floats == null) throw new IllegalStateException(dtype + " tensor has no float data");
        return floats;
    }

    public int[] ints() {
        if (ints == null) throw new IllegalStateException(dtype + " tensor has no int data");
        return ints;
    }

    public double getDouble(int flat) { return floats != null ? floats[flat] : ints[flat]; }
    public int getInt(int flat) { return ints != null ? ints[flat] : (int) Math.floor(floats[flat]); }

    public String shapeText() { return Arrays.toString(shape); }
}
