package attnc.gpu;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * Times device work with CUDA events around it by the method of {@code triton.testing.do_bench},
 * which times our peers: a warm-up, then the median of many runs, each preceded by a write over
 * a 256 MiB buffer so that no run finds the previous one's data in L2, the runs queued back to
 * back and synchronised once at the end.
 */
public final class EventTimer {
    /** do_bench's flush buffer: larger than any L2 (the H200's is 50 MiB). */
    private static final long FLUSH_BYTES = 256L << 20;
    /**
     * Warm-up lasts at least this long besides its count: the first tenth of a second after a
     * process starts runs at lower clocks (on 2026-12-02 the first variant timed, whichever it was,
     * measured up to 30% slow after ten warm-up launches).
     */
    private static final long WARMUP_NANOS = 200_000_000L;
    private static final Map<Device, CUdeviceptr> FLUSH = new ConcurrentHashMap<>();

    private EventTimer() {}

    /** Median milliseconds of {@code work} over {@code repeats} timed runs after at least {@code warmups} and 200 ms of untimed ones. */
    public static double medianMillis(Device device, Runnable work, int warmups, int repeats) {
        return medianMillis(device, () -> {}, work, warmups, repeats);
    }

    /**
     * As above, {@code between} run untimed after each flush: work that reads enough to evict the
     * flush's dirty lines takes their write-back to memory out of the timed interval, which
     * do_bench's method leaves in (about 8 µs on the H200, bench/gpu/probes/flush.py).
     */
    public static double medianMillis(Device device, Runnable between, Runnable work, int warmups, int repeats) {
        device.makeCurrent();
        CUdeviceptr flush = FLUSH.computeIfAbsent(device, d -> {
            CUdeviceptr p = new CUdeviceptr();
            Cuda.check("cuMemAlloc", JCudaDriver.cuMemAlloc(p, FLUSH_BYTES));
            return p;
        });
        long begin = System.nanoTime();
        for (int i = 0; i < warmups || System.nanoTime() - begin < WARMUP_NANOS; i++) {
            work.run();
            if (i % 8 == 7) device.synchronize();
        }
        device.synchronize();
        CUevent[] starts = new CUevent[repeats], stops = new CUevent[repeats];
        try {
            for (int i = 0; i < repeats; i++) {
                starts[i] = new CUevent();
                stops[i] = new CUevent();
                Cuda.check("cuEventCreate", JCudaDriver.cuEventCreate(starts[i], 0));
                Cuda.check("cuEventCreate", JCudaDriver.cuEventCreate(stops[i], 0));
            }
            for (int i = 0; i < repeats; i++) {
                Cuda.check("cuMemsetD32Async", JCudaDriver.cuMemsetD32Async(flush, 0, FLUSH_BYTES / 4, null));
                between.run();
                Cuda.check("cuEventRecord", JCudaDriver.cuEventRecord(starts[i], null));
                work.run();
                Cuda.check("cuEventRecord", JCudaDriver.cuEventRecord(stops[i], null));
            }
            Cuda.check("cuEventSynchronize", JCudaDriver.cuEventSynchronize(stops[repeats - 1]));
            double[] times = new double[repeats];
            float[] ms = {0};
            for (int i = 0; i < repeats; i++) {
                Cuda.check("cuEventElapsedTime", JCudaDriver.cuEventElapsedTime(ms, starts[i], stops[i]));
                times[i] = ms[0];
            }
            Arrays.sort(times);
            return times[repeats / 2];
        } finally {
            for (int i = 0; i < repeats; i++) {
                if (starts[i] != null) JCudaDriver.cuEventDestroy(starts[i]);
                if (stops[i] != null) JCudaDriver.cuEventDestroy(stops[i]);
            }
        }
    }
}
