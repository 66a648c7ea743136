package attnc.gpu;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES;
import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.JCudaDriver;

/** One kernel entry of a loaded module, launched with {@link #launch}. */
public final class GpuFunction {
    private final Device device;
    private final String name;
    private final CUfunction handle;
    private int sharedLimit = 48 * 1024;

    GpuFunction(Device device, String name, CUfunction handle) {
        this.device = device;
        this.name = name;
        this.handle = handle;
    }

    /**
     * Launches on the default stream with the given arguments (see {@link Args}) and checks the
     * launch. Raises the function's dynamic shared-memory limit first where a launch needs more
     * than the default 48 KiB.
     */
    public void launch(int[] grid, int[] block, int sharedBytes, Args args) {
        device.makeCurrent();
        allowShared(sharedBytes);
        Cuda.check("cuLaunchKernel(" + name + ")", JCudaDriver.cuLaunchKernel(handle,
                grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, null, args.pointer(), null));
    }

    /**
     * Blocks of {@code threads} threads with {@code sharedBytes} of dynamic shared memory that one
     * multiprocessor holds at once, as registers, shared memory and threads allow.
     */
    public int residentBlocks(int threads, int sharedBytes) {
        device.makeCurrent();
        allowShared(sharedBytes);
        int[] blocks = {0};
        Cuda.check("cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ")",
                JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, handle, threads, sharedBytes));
        return blocks[0];
    }

    private void allowShared(int sharedBytes) {
        if (sharedBytes > sharedLimit) {
            Cuda.check("cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES=" + sharedBytes + ")",
                    JCudaDriver.cuFuncSetAttribute(handle, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes));
            sharedLimit = sharedBytes;
        }
    }

    /** Registers per thread, as the driver's JIT allocated them. */
    public int registers() { return attribute(CU_FUNC_ATTRIBUTE_NUM_REGS); }

    /** Local (spill) memory per thread in bytes. */
    public int localBytes() { return attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES); }

    private int attribute(int attribute) {
        int[] value = {0};
        Cuda.check("cuFuncGetAttribute(" + name + ")", JCudaDriver.cuFuncGetAttribute(value, attribute, handle));
        return value[0];
    }

    public String name() { return name; }

    /** Kernel arguments in declaration order: device pointers (null for none), ints and floats. */
    public static final class Args {
        private final java.util.List<Pointer> values = new java.util.ArrayList<>();

        public Args pointer(DeviceTensor tensor) {
            values.add(Pointer.to(tensor == null ? new jcuda.driver.CUdeviceptr() : tensor.pointer()));
            return this;
        }

        public Args s32(int value) {
            values.add(Pointer.to(new int[] {value}));
            return this;
        }

        /** A parameter passed by value as raw bytes (a {@link TensorMap}). */
        public Args bytes(byte[] value) {
            values.add(Pointer.to(value.clone()));
            return this;
        }

        public Args f32(float value) {
            values.add(Pointer.to(new float[] {value}));
            return this;
        }

        Pointer pointer() { return Pointer.to(values.toArray(Pointer[]::new)); }
    }
}
