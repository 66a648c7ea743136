package attnc.gpu;

import attnc.run.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * Loaded modules of one device, keyed by the SHA-256 of their PTX text: the same pattern compiled
 * twice (or by two kernels) is JIT-compiled by the driver once. Modules live as long as the
 * device's context; there are few of them (one per pattern and shape class).
 */
public final class ModuleCache {
    private final Device device;
    private final Map<String, CUmodule> modules = new ConcurrentHashMap<>();

    ModuleCache(Device device) {
        this.device = device;
    }

    /** The function {@code entry} of the module built from {@code ptx}, loading it on first use. */
    public GpuFunction function(String ptx, String entry) {
        CUmodule module = modules.computeIfAbsent(hash(ptx), key -> load(ptx));
        CUfunction function = new CUfunction();
        device.makeCurrent();
        Cuda.check("cuModuleGetFunction(" + entry + ")", JCudaDriver.cuModuleGetFunction(function, module, entry));
        return new GpuFunction(device, entry, function);
    }

    public int size() { return modules.size(); }

    private CUmodule load(String ptx) {
        device.makeCurrent();
        CUmodule module = new CUmodule();
        byte[] text = (ptx + '\0').getBytes(StandardCharsets.US_ASCII);
        Cuda.check("cuModuleLoadData", JCudaDriver.cuModuleLoadData(module, text));
        return module;
    }

    /** Hex SHA-256 of the PTX text: the cache key, also usable as a file name for exports. */
    public static String hash(String ptx) {
        return Sha256.hex(ptx);
    }
}
