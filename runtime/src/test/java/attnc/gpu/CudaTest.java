package attnc.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

class CudaTest {

    @Test
    void availabilityIsAnsweredWithoutThrowing() {
        boolean available = Cuda.available();
        assertEquals(available, Cuda.available(), "the answer is stable");
        if (!available) {
            assertEquals(0, Cuda.deviceCount());
            assertThrows(IllegalStateException.class, () -> Device.get(0));
        }
    }

    @Test
    void failuresNameTheCallAndTheError() {
        CudaException e = assertThrows(CudaException.class,
                () -> Cuda.check("cuLaunchKernel(attention)", CUresult.CUDA_ERROR_INVALID_VALUE));
        assertTrue(e.getMessage().startsWith("cuLaunchKernel(attention): CUDA_ERROR_INVALID_VALUE"), e.getMessage());
        assertEquals(CUresult.CUDA_ERROR_INVALID_VALUE, e.code());
    }

    @Test
    void moduleCacheKeyIsTheTextHash() {
        assertEquals(ModuleCache.hash(".version 8.0"), ModuleCache.hash(".version 8.0"));
        assertTrue(!ModuleCache.hash("a").equals(ModuleCache.hash("b")));
        assertEquals(64, ModuleCache.hash("x").length());
    }
}
