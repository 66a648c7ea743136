package attnc.gpu;

import java.util.Arrays;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/** Times device work with CUDA events around it, the way do_bench does: warm-up, then the median of many runs. */
public final class EventTimer {
    private EventTimer() {}

    /** Median milliseconds of {@code work} over {@code repeats} timed runs after {@code warmups}. */
    public static double medianMillis(Device device, Runnable work, int warmups, int repeats) {
        device.makeCurrent();
        for (int i = 0; i < warmups; i++) work.run();
        CUevent start = new CUevent(), stop = new CUevent();
        Cuda.check("cuEventCreate", JCudaDriver.cuEventCreate(start, 0));
        Cuda.check("cuEventCreate", JCudaDriver.cuEventCreate(stop, 0));
        try {
            double[] times = new double[repeats];
            float[] ms = {0};
            for (int i = 0; i < repeats; i++) {
                Cuda.check("cuEventRecord", JCudaDriver.cuEventRecord(start, null));
                work.run();
                Cuda.check("cuEventRecord", JCudaDriver.cuEventRecord(stop, null));
                Cuda.check("cuEventSynchronize", JCudaDriver.cuEventSynchronize(stop));
                Cuda.check("cuEventElapsedTime", JCudaDriver.cuEventElapsedTime(ms, start, stop));
                times[i] = ms[0];
            }
            Arrays.sort(times);
            return times[repeats / 2];
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        }
    }
}
