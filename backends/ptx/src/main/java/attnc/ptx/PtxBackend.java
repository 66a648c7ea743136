package attnc.ptx;

import attnc.gpu.Cuda;
import attnc.ir.Pattern;
import attnc.run.Backend;
import attnc.run.Kernel;

/** The GPU backend: PTX text rendered per pattern, JIT-loaded and launched through JCuda. */
public final class PtxBackend implements Backend {
    @Override public String name() { return "ptx"; }

    /** True only where a CUDA driver and a device exist; the classes load without either. */
    @Override public boolean available() { return Cuda.available(); }

    @Override public Kernel compile(Pattern pattern) { return new PtxKernel(pattern); }
}
