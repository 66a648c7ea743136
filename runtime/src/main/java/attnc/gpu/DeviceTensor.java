package attnc.gpu;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * A dense row-major tensor in device memory: dtype, shape, bytes. Closing it frees the memory;
 * use try-with-resources. bf16 and fp16 values travel as their 16-bit encodings, bool as bytes.
 */
public final class DeviceTensor implements AutoCloseable {
    private final Device device;
    private final DType dtype;
    private final int[] shape;
    private final long bytes;
    private CUdeviceptr pointer;

    private DeviceTensor(Device device, DType dtype, int[] shape) {
        this.device = device;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = Tensor.elementCount(shape) * dtype.bytes();
        device.makeCurrent();
        pointer = new CUdeviceptr();
        Cuda.check("cuMemAlloc(" + bytes + " bytes)", JCudaDriver.cuMemAlloc(pointer, Math.max(bytes, 1)));
    }

    /** Uninitialised device memory for a tensor of this dtype and shape. */
    public static DeviceTensor allocate(Device device, DType dtype, int... shape) {
        return new DeviceTensor(device, dtype, shape);
    }

    /** Copies a host tensor to the device, converting its values to {@code as} (e.g. float32 to bf16). */
    public static DeviceTensor upload(Device device, Tensor host, DType as) {
        if (host.dtype().loadsAs() != as.loadsAs()) {
            throw new IllegalArgumentException("cannot store a " + host.dtype() + " tensor as " + as);
        }
        DeviceTensor tensor = new DeviceTensor(device, as, host.shape());
        try {
            tensor.write(encode(host, as));
        } catch (RuntimeException e) {
            tensor.close();
            throw e;
        }
        return tensor;
    }

    private static ByteBuffer encode(Tensor host, DType as) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(Tensor.elementCount(host.shape()) * as.bytes()))
                .order(ByteOrder.LITTLE_ENDIAN);
        int n = host.size();
        switch (as) {
            case FLOAT32 -> { for (int i = 0; i < n; i++) buffer.putFloat((float) host.getDouble(i)); }
            case BFLOAT16 -> { for (int i = 0; i < n; i++) buffer.putShort(bf16Bits((float) host.getDouble(i))); }
            case FLOAT16 -> { for (int i = 0; i < n; i++) buffer.putShort(Float.floatToFloat16((float) host.getDouble(i))); }
            case INT32 -> { for (int i = 0; i < n; i++) buffer.putInt(host.ints()[i]); }
            case BOOL -> { for (int i = 0; i < n; i++) buffer.put((byte) (host.ints()[i] != 0 ? 1 : 0)); }
        }
        return buffer.flip();
    }

    private static short bf16Bits(float x) {
        return (short) (Float.floatToRawIntBits(Tensor.bfloat16(x)) >>> 16);
    }

    /** Copies bytes from the host into this tensor (the whole tensor). */
    public void write(ByteBuffer data) {
        requireOpen();
        if (data.remaining() != bytes) throw new IllegalArgumentException("expected " + bytes + " bytes, got " + data.remaining());
        device.makeCurrent();
        Cuda.check("cuMemcpyHtoD(" + bytes + " bytes)", JCudaDriver.cuMemcpyHtoD(pointer, Pointer.to(data), bytes));
    }

    public void write(int[] values) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) buffer.putInt(v);
        write(buffer.flip());
    }

    /** Fills every byte with {@code value}: poisons outputs before a check (0xFF gives NaN floats). */
    public void fill(int value) {
        requireOpen();
        device.makeCurrent();
        Cuda.check("cuMemsetD8", JCudaDriver.cuMemsetD8(pointer, (byte) value, bytes));
    }

    /** Reads a float32, bf16 or fp16 tensor back, as floats. */
    public float[] readFloats() {
        requireOpen();
        device.makeCurrent();
        if (dtype == DType.FLOAT32) {
            float[] out = new float[Math.toIntExact(bytes / 4)];
            Cuda.check("cuMemcpyDtoH(" + bytes + " bytes)", JCudaDriver.cuMemcpyDtoH(Pointer.to(out), pointer, bytes));
            return out;
        }
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) throw new IllegalStateException("readFloats on a " + dtype + " tensor");
        short[] bits = new short[Math.toIntExact(bytes / 2)];
        Cuda.check("cuMemcpyDtoH(" + bytes + " bytes)", JCudaDriver.cuMemcpyDtoH(Pointer.to(bits), pointer, bytes));
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = dtype == DType.FLOAT16 ? Float.float16ToFloat(bits[i]) : Float.intBitsToFloat(bits[i] << 16);
        return out;
    }

    public int[] readInts() {
        requireOpen();
        if (dtype != DType.INT32) throw new IllegalStateException("readInts on a " + dtype + " tensor");
        int[] out = new int[Math.toIntExact(bytes / 4)];
        device.makeCurrent();
        Cuda.check("cuMemcpyDtoH(" + bytes + " bytes)", JCudaDriver.cuMemcpyDtoH(Pointer.to(out), pointer, bytes));
        return out;
    }

    /**
     * The device address as a number, for what JCuda does not wrap (tensor maps). JCuda has it
     * behind a method of its pointer class that it does not make public.
     */
    public long address() {
        try {
            java.lang.reflect.Method nativePointer = jcuda.NativePointerObject.class.getDeclaredMethod("getNativePointer");
            nativePointer.setAccessible(true);
            return (long) nativePointer.invoke(pointer());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read the device address from JCuda's pointer", e);
        }
    }

    CUdeviceptr pointer() {
        requireOpen();
        return pointer;
    }

    private void requireOpen() {
        if (pointer == null) throw new IllegalStateException("device tensor " + Arrays.toString(shape) + " is closed");
    }

    /**
     * This buffer as a {@link Tensor} (row-major, its dtype and shape) that a GPU backend reads and
     * writes in place: a KV cache, queries or an output kept on the device between calls. The host
     * cannot read its values; {@link #readFloats} copies them back.
     */
    public Tensor asTensor() {
        requireOpen();
        return Tensor.onDevice(this, dtype, shape);
    }

    @Override
    public String toString() {
        return "DeviceTensor " + dtype + Arrays.toString(shape) + " on " + device.name();
    }

    public DType dtype() { return dtype; }
    public int[] shape() { return shape.clone(); }
    public long bytes() { return bytes; }
    public Device device() { return device; }

    @Override
    public void close() {
        if (pointer == null) return;
        device.makeCurrent();
        Cuda.check("cuMemFree", JCudaDriver.cuMemFree(pointer));
        pointer = null;
    }
}
