package attnc.gpu;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

/**
 * One GPU and its primary context (the context the CUDA runtime, PyTorch and CuPy share, so
 * tensors pass between them). {@link #makeCurrent()} binds it to the calling thread; every
 * runtime call does that first, so any thread may use a device.
 */
public final class Device {
    private static final Map<Integer, Device> OPEN = new ConcurrentHashMap<>();

    private final int ordinal;
    private final CUdevice handle;
    private final CUcontext context;
    private final String name;
    private final int major;
    private final int minor;
    private final int multiprocessors;
    private final int maxSharedPerBlock;
    private final ModuleCache modules = new ModuleCache(this);

    private Device(int ordinal) {
        Cuda.init();
        this.ordinal = ordinal;
        handle = new CUdevice();
        Cuda.check("cuDeviceGet(" + ordinal + ")", JCudaDriver.cuDeviceGet(handle, ordinal));
        context = new CUcontext();
        Cuda.check("cuDevicePrimaryCtxRetain", JCudaDriver.cuDevicePrimaryCtxRetain(context, handle));
        byte[] nameBytes = new byte[256];
        Cuda.check("cuDeviceGetName", JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, handle));
        name = new String(nameBytes, 0, indexOfNul(nameBytes), java.nio.charset.StandardCharsets.US_ASCII);
        major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        maxSharedPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    }

    /** The device with this ordinal (0 is the first); opened once per process. */
    public static Device get(int ordinal) {
        if (!Cuda.available()) throw new IllegalStateException("no CUDA driver or device on this machine");
        return OPEN.computeIfAbsent(ordinal, Device::new);
    }

    /** Binds this device's primary context to the calling thread. */
    public void makeCurrent() {
        Cuda.check("cuCtxSetCurrent", JCudaDriver.cuCtxSetCurrent(context));
    }

    public void synchronize() {
        makeCurrent();
        Cuda.check("cuCtxSynchronize", JCudaDriver.cuCtxSynchronize());
    }

    /** Free and total device memory in bytes. */
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = {0}, total = {0};
        Cuda.check("cuMemGetInfo", JCudaDriver.cuMemGetInfo(free, total));
        return new long[] {free[0], total[0]};
    }

    private int attribute(int attribute) {
        int[] value = {0};
        Cuda.check("cuDeviceGetAttribute(" + attribute + ")", JCudaDriver.cuDeviceGetAttribute(value, attribute, handle));
        return value[0];
    }

    private static int indexOfNul(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) if (bytes[i] == 0) return i;
        return bytes.length;
    }

    public int ordinal() { return ordinal; }
    public String name() { return name; }
    /** Compute capability as an sm number: 80 for A100, 90 for H100. */
    public int sm() { return major * 10 + minor; }
    public int multiprocessors() { return multiprocessors; }
    public int maxSharedPerBlock() { return maxSharedPerBlock; }
    public ModuleCache modules() { return modules; }

    @Override public String toString() { return name + " (sm_" + sm() + ", " + multiprocessors + " SMs)"; }
}
