package attnc.ptx;

import attnc.gpu.DeviceTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The device memory one launch allocated, freed together when it closes; a launch whose set-up
 * fails half-way closes it to free what it had taken.
 */
final class DeviceBuffers implements AutoCloseable {
    private final List<Runnable> frees = new ArrayList<>();

    DeviceTensor add(DeviceTensor t) {
        frees.add(t::close);
        return t;
    }

    GpuDecode.Partials add(GpuDecode.Partials p) {
        frees.add(p::close);
        return p;
    }

    @Override
    public void close() {
        for (Runnable free : frees) free.run();
    }
}
