"""The few CUDA driver calls this package makes, through ctypes.

The kernels are PTX that the driver compiles for the GPU it runs on (and caches, see
CUDA_CACHE_PATH); they are loaded with cuModuleLoadData and launched with cuLaunchKernel on
PyTorch's current stream. The driver is reached through ctypes rather than CuPy: libcuda.so.1 is
on every machine that runs CUDA tensors (PyTorch itself has loaded it), the calls used here have
kept their signatures since CUDA 12.0, while CuPy wheels are built for one CUDA major version
each (cupy-cuda12x, cupy-cuda13x) and are large. So the package needs nothing but torch.

Nothing here imports torch: the caller passes device pointers and stream handles as integers.
"""
import ctypes
import threading

CU_FUNC_ATTRIBUTE_NUM_REGS = 4
CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76
TENSOR_MAP_BYTES = 128

# cuTensorMapEncodeTiled's enums (cuda.h), by the names the manifest uses.
TENSOR_MAP_ENUMS = {
    "CU_TENSOR_MAP_DATA_TYPE_FLOAT16": 6,
    "CU_TENSOR_MAP_DATA_TYPE_FLOAT32": 7,
    "CU_TENSOR_MAP_DATA_TYPE_BFLOAT16": 9,
    "CU_TENSOR_MAP_SWIZZLE_NONE": 0,
    "CU_TENSOR_MAP_SWIZZLE_32B": 1,
    "CU_TENSOR_MAP_SWIZZLE_64B": 2,
    "CU_TENSOR_MAP_SWIZZLE_128B": 3,
    "CU_TENSOR_MAP_L2_PROMOTION_NONE": 0,
    "CU_TENSOR_MAP_L2_PROMOTION_L2_64B": 1,
    "CU_TENSOR_MAP_L2_PROMOTION_L2_128B": 2,
    "CU_TENSOR_MAP_L2_PROMOTION_L2_256B": 3,
    "CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE": 0,
    "CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA": 1,
}


class CudaError(RuntimeError):
    """A driver call failed; the message names the call and the driver's error."""


class TensorMap:
    """A 128-byte CUtensorMap in host memory, 64-byte aligned, passed to a kernel by value."""

    def __init__(self):
        self._storage = (ctypes.c_uint8 * (TENSOR_MAP_BYTES + 64))()
        self.address = (ctypes.addressof(self._storage) + 63) & ~63


class Driver:
    """libcuda.so.1, loaded once per process; modules are per device (each has its own context)."""

    def __init__(self, library="libcuda.so.1"):
        try:
            self._lib = ctypes.CDLL(library)
        except OSError as e:
            raise CudaError(f"cannot load the CUDA driver ({library}): {e}; an NVIDIA driver is needed to run these kernels") from None
        lib = self._lib
        p, i, u, vp = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p)
        self._sig("cuGetErrorName", i, ctypes.POINTER(ctypes.c_char_p))
        self._sig("cuGetErrorString", i, ctypes.POINTER(ctypes.c_char_p))
        self._sig("cuInit", u)
        self._sig("cuDeviceGet", ctypes.POINTER(i), i)
        self._sig("cuDeviceGetAttribute", ctypes.POINTER(i), i, i)
        self._sig("cuDevicePrimaryCtxRetain", vp, i)
        self._sig("cuCtxGetCurrent", vp)
        self._sig("cuCtxSetCurrent", p)
        self._sig("cuModuleLoadData", vp, ctypes.c_char_p)
        self._sig("cuModuleGetFunction", vp, p, ctypes.c_char_p)
        self._sig("cuFuncSetAttribute", p, i, i)
        self._sig("cuFuncGetAttribute", ctypes.POINTER(i), i, p)
        self._sig("cuLaunchKernel", p, u, u, u, u, u, u, u, p, vp, vp)
        self._sig("cuOccupancyMaxActiveBlocksPerMultiprocessor", ctypes.POINTER(i), p, i, ctypes.c_size_t)
        self._has_tensor_maps = hasattr(lib, "cuTensorMapEncodeTiled")
        if self._has_tensor_maps:
            u64p, u32p = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32)
            self._sig("cuTensorMapEncodeTiled", p, i, ctypes.c_uint32, p, u64p, u64p, u32p, u32p, i, i, i, i)
        self._lock = threading.Lock()
        self._contexts = {}
        self.check("cuInit", lib.cuInit(0))

    def _sig(self, name, *argtypes):
        f = getattr(self._lib, name)
        f.argtypes = list(argtypes)
        f.restype = ctypes.c_int

    def check(self, what, result):
        if result != 0:
            name, text = ctypes.c_char_p(), ctypes.c_char_p()
            self._lib.cuGetErrorName(result, ctypes.byref(name))
            self._lib.cuGetErrorString(result, ctypes.byref(text))
            label = name.value.decode() if name.value else f"error {result}"
            detail = text.value.decode() if text.value else ""
            raise CudaError(f"{what} failed: {label} ({detail})")

    def compute_capability(self, ordinal):
        device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        self.check("cuDeviceGet", self._lib.cuDeviceGet(ctypes.byref(device), ordinal))
        self.check("cuDeviceGetAttribute", self._lib.cuDeviceGetAttribute(ctypes.byref(major), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device))
        self.check("cuDeviceGetAttribute", self._lib.cuDeviceGetAttribute(ctypes.byref(minor), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device))
        return major.value, minor.value

    def multiprocessors(self, ordinal):
        device, count = ctypes.c_int(), ctypes.c_int()
        self.check("cuDeviceGet", self._lib.cuDeviceGet(ctypes.byref(device), ordinal))
        self.check("cuDeviceGetAttribute", self._lib.cuDeviceGetAttribute(ctypes.byref(count), CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device))
        return count.value

    def resident_blocks(self, function, threads, shared_bytes, label):
        """Blocks of `function` one multiprocessor holds at once (the driver's occupancy)."""
        blocks = ctypes.c_int()
        self.check(f"cuOccupancyMaxActiveBlocksPerMultiprocessor({label})",
                   self._lib.cuOccupancyMaxActiveBlocksPerMultiprocessor(ctypes.byref(blocks), function, threads, shared_bytes))
        return blocks.value

    def make_current(self, ordinal):
        """Makes the device's primary context (PyTorch's) current on this thread, if it is not."""
        context = self._contexts.get(ordinal)
        if context is None:
            with self._lock:
                context = self._contexts.get(ordinal)
                if context is None:
                    device, handle = ctypes.c_int(), ctypes.c_void_p()
                    self.check("cuDeviceGet", self._lib.cuDeviceGet(ctypes.byref(device), ordinal))
                    self.check("cuDevicePrimaryCtxRetain", self._lib.cuDevicePrimaryCtxRetain(ctypes.byref(handle), device))
                    context = self._contexts[ordinal] = handle.value
        current = ctypes.c_void_p()
        self.check("cuCtxGetCurrent", self._lib.cuCtxGetCurrent(ctypes.byref(current)))
        if current.value != context:
            self.check("cuCtxSetCurrent", self._lib.cuCtxSetCurrent(context))

    def load_module(self, image, label):
        """A module from PTX text (or a cubin), in the current context."""
        module = ctypes.c_void_p()
        data = image if image.endswith(b"\0") else image + b"\0"
        self.check(f"cuModuleLoadData({label})", self._lib.cuModuleLoadData(ctypes.byref(module), data))
        return module.value

    def function(self, module, name, shared_bytes, label):
        """An entry of a loaded module, allowed `shared_bytes` of dynamic shared memory. Asking for an
        attribute loads it now (with lazy loading it would load at its first launch, which may be
        inside a CUDA graph capture, where loading is not allowed)."""
        handle = ctypes.c_void_p()
        self.check(f"cuModuleGetFunction({label}, {name})", self._lib.cuModuleGetFunction(ctypes.byref(handle), module, name.encode()))
        if shared_bytes > 48 * 1024:
            self.check(f"cuFuncSetAttribute({name}, max dynamic shared memory {shared_bytes})",
                       self._lib.cuFuncSetAttribute(handle, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared_bytes))
        registers = ctypes.c_int()
        self.check(f"cuFuncGetAttribute({name})", self._lib.cuFuncGetAttribute(ctypes.byref(registers), CU_FUNC_ATTRIBUTE_NUM_REGS, handle))
        return handle.value

    def launch(self, function, grid, block, shared_bytes, stream, arguments, label):
        """Launches on `stream` (a CUstream handle as an int; 0 is the legacy default stream).
        `arguments`: (type, value) pairs in the entry's order, type u64, s32, f32 or CUtensorMap."""
        Launch(self, function, grid, block, shared_bytes, arguments, {}, label)(stream, {})

    def launch_kernel(self, function, grid, block, shared_bytes, stream, pointers, label):
        """cuLaunchKernel with `pointers`, a ctypes array of the arguments' host addresses."""
        gx, gy, gz = grid
        bx, by, bz = block
        result = self._lib.cuLaunchKernel(function, gx, gy, gz, bx, by, bz, shared_bytes, stream, pointers, None)
        if result != 0:
            self.check(f"cuLaunchKernel({label}, grid {tuple(grid)}, block {tuple(block)}, shared {shared_bytes})", result)

    def tensor_map(self, spec, address, dims, strides_bytes, box):
        """Encodes a tiled CUtensorMap of the tensor at `address`: dims innermost first, the
        byte strides of dims 1.., the box one copy moves; enum fields by their cuda.h names."""
        if not self._has_tensor_maps:
            raise CudaError("this CUDA driver has no cuTensorMapEncodeTiled (CUDA 12 or newer is needed for the Hopper kernels)")
        rank = len(dims)
        tmap = TensorMap()
        enum = lambda field: TENSOR_MAP_ENUMS[spec[field].split()[0]]
        self.check(f"cuTensorMapEncodeTiled({spec['tensor']}, dims {dims}, strides {strides_bytes}, box {box})",
                   self._lib.cuTensorMapEncodeTiled(
                       tmap.address, enum("data_type"), rank, address,
                       (ctypes.c_uint64 * rank)(*dims), (ctypes.c_uint64 * (rank - 1))(*strides_bytes),
                       (ctypes.c_uint32 * rank)(*box), (ctypes.c_uint32 * rank)(*([1] * rank)),
                       0, enum("swizzle"), enum("l2_promotion"), enum("oob_fill")))
        return tmap


class Address:
    """Where a planned launch takes a tensor's device address: filled in at each launch, by the
    tensor's name."""
    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor


MAPS_KEPT = 32


def _constant(kind, value, label):
    if kind == "u64":
        return ctypes.c_uint64(value)
    if kind == "s32":
        return ctypes.c_int32(value)
    if kind == "f32":
        return ctypes.c_float(value)
    raise CudaError(f"{label}: no ctypes form for an argument of type {kind}")


class Launch:
    """One entry's launch worked out once for its sizes and params: the grid, the constant
    arguments as ctypes values, where each tensor's address goes. A call gives the stream and the
    tensors' addresses by name; tensor maps are encoded for addresses not seen before and kept
    (up to MAPS_KEPT, then all dropped: PyTorch's allocator hands the same addresses back step
    after step).

    The argument array cuLaunchKernel reads is built once: a call only stores each tensor's
    address into its own cell (and each tensor map's into its slot), so the host's work per
    launch is a few stores and the driver call (2 us of Python a launch on a 2-core Xeon, against
    15 for building the array anew). The driver copies the arguments at the call, so one lock per launch is enough
    for threads sharing it.

    `arguments`: (type, value) pairs in the entry's order; a value is a constant, an Address, or,
    for a CUtensorMap, a TensorMap or the name of an entry of `maps`, {name: (spec, tensor name,
    dims, strides in bytes, box)}."""

    def __init__(self, driver, function, grid, block, shared_bytes, arguments, maps, label):
        self._driver, self._function, self._label = driver, function, label
        self._grid, self._block, self._shared = tuple(grid), tuple(block), shared_bytes
        self._maps, self._kept = maps, {}
        self._lock = threading.Lock()
        self._constants, self._cells, self._map_slots, pointers = [], [], [], []
        for kind, value in arguments:
            if kind == "CUtensorMap" and isinstance(value, TensorMap):
                self._constants.append(value)
                pointers.append(value.address)
            elif kind == "CUtensorMap":
                self._map_slots.append((len(pointers), value))
                pointers.append(None)
            elif isinstance(value, Address):
                if kind != "u64":
                    raise CudaError(f"{label}: a {kind} argument cannot take the address of {value.tensor}")
                cell = ctypes.c_uint64(0)
                self._cells.append((value.tensor, cell))
                pointers.append(ctypes.addressof(cell))
            else:
                constant = _constant(kind, value, label)
                self._constants.append(constant)
                pointers.append(ctypes.addressof(constant))
        self._array = (ctypes.c_void_p * max(1, len(pointers)))(*pointers)

    def __call__(self, stream, addresses):
        with self._lock:
            for tensor, cell in self._cells:
                cell.value = addresses[tensor]
            # Held until the launch: a later map's encoding may drop the kept ones.
            held = [self._map(name, addresses) for _, name in self._map_slots]
            for (slot, _), tmap in zip(self._map_slots, held):
                self._array[slot] = tmap.address
            self._driver.launch_kernel(self._function, self._grid, self._block, self._shared, stream, self._array, self._label)

    def _map(self, name, addresses):
        spec, tensor, dims, strides, box = self._maps[name]
        key = (name, addresses[tensor])
        tmap = self._kept.get(key)
        if tmap is None:
            tmap = self._driver.tensor_map(spec, key[1], dims, strides, box)
            if len(self._kept) >= MAPS_KEPT:
                self._kept.clear()
            self._kept[key] = tmap
        return tmap
