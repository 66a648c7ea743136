package attnc.gpu;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * The entry to the driver API. JCuda's native library loads on the first touch of
 * {@link JCudaDriver}, which this class defers until {@link #available()} or {@link #init()} is
 * called: the runtime's classes load on a machine without a GPU, and only those calls notice.
 */
public final class Cuda {
    private static volatile Boolean available;

    private Cuda() {}

    /** Turns a driver result into an exception naming the call. */
    public static void check(String call, int result) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(call, result, CUresult.stringFor(result));
    }

    /** Whether a CUDA driver and at least one device are present; never throws. */
    public static boolean available() {
        Boolean known = available;
        if (known != null) return known;
        boolean found;
        try {
            init();
            int[] count = {0};
            check("cuDeviceGetCount", JCudaDriver.cuDeviceGetCount(count));
            found = count[0] > 0;
        } catch (Throwable noDriver) {
            // UnsatisfiedLinkError (no libcuda.so.1), NoClassDefFoundError, or a driver error: no GPU here.
            found = false;
        }
        available = found;
        return found;
    }

    /** Loads the native library and initialises the driver (idempotent). */
    public static void init() {
        JCudaDriver.setExceptionsEnabled(false);
        check("cuInit", JCudaDriver.cuInit(0));
    }

    /** Number of devices; 0 when none or no driver. */
    public static int deviceCount() {
        if (!available()) return 0;
        int[] count = {0};
        check("cuDeviceGetCount", JCudaDriver.cuDeviceGetCount(count));
        return count[0];
    }
}
