"""What this machine is: :mod:`.passport` (device, driver, CPU, load, the machine's identity),
:mod:`.cpu` (the cores this process may use), :mod:`.jetson` (release, power mode,
``jetson_clocks``, thermal zones), :mod:`.rails` (INA3221 power rails and the module total),
:mod:`.energy` (energy per image), :mod:`.sysfs` (the configurable root that tests point at
recorded boards). Nothing here imports the lab or the predictor.
"""
